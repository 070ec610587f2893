/** `portcullis list [--status S] [--team T] [--limit N | --all]`: the requests of your teams, newest first. */
import { apiClient, serverOption } from './api-client';
import { EXIT, outputOf, outputOptions, parseCommand, printJson, usageError } from './common';
import { formatRequest, requestTable, type RequestView } from './request-view';

export const usage = `usage: portcullis list [--status STATUS] [--team TEAM] [--limit N | --all]
                       [--output table|text|json] [--server URL] [--profile NAME]

Lists the requests of your teams (table by default). STATUS is one of requested, resolving,
staging, scanning, awaiting_approval, promoting, approved, rejected, failed, revoked.
`;

export type Page = { items: RequestView[]; next: string | null };

/** Pages through `path` until `max` items or the end; says whether more remain. */
export async function collect(get: (cursor?: string) => Promise<Page>, max: number): Promise<{ items: RequestView[]; more: boolean; next: string | null }> {
  const items: RequestView[] = [];
  let cursor: string | undefined;
  for (;;) {
    const page = await get(cursor);
    items.push(...page.items);
    if (!page.next) return { items: items.slice(0, max), more: items.length > max, next: null };
    if (items.length >= max) return { items: items.slice(0, max), more: true, next: page.next };
    cursor = page.next;
  }
}

export async function run(argv: string[]): Promise<number> {
  const { values, positionals } = parseCommand('list', argv, {
    ...serverOption, ...outputOptions, status: { type: 'string' }, team: { type: 'string' }, limit: { type: 'string' }, all: { type: 'boolean' },
  });
  if (positionals.length) throw usageError('list', `unexpected argument '${positionals[0]}'`);
  const output = values.output === undefined && !values.json ? 'table' : outputOf('list', values);
  const limit = values.all ? Number.MAX_SAFE_INTEGER : Number(values.limit ?? 50);
  if (!Number.isInteger(limit) || limit < 1) throw usageError('list', '--limit must be a positive integer');
  const api = apiClient(values);
  const { items, more } = await collect((cursor) => api.get<Page>('/v1/requests', {
    status: values.status, team: values.team, cursor, limit: String(Math.min(limit, 100)),
  }), limit);
  if (output === 'json') printJson({ items, more });
  else if (!items.length) process.stdout.write('no requests\n');
  else process.stdout.write(output === 'table' ? requestTable(items) : items.map(formatRequest).join('\n'));
  if (more && output !== 'json') process.stderr.write(`more requests exist: raise --limit or use --all\n`);
  return EXIT.OK;
}
