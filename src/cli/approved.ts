/**
 * `portcullis approved IMAGE --team TEAM [--platform P]… [--output text|json]`: the approved
 * internal reference of an image (what CI pulls), e.g.
 * `docker pull "$(portcullis approved nginx:1.25 --team payments)"`. Exit 1 with NOT_APPROVED
 * when there is none.
 * `portcullis approved --list --team TEAM [--limit N] [--cursor C] [--output text|json|table]`:
 * the team's approved images, newest first. `--json` is short for `--output json`.
 */
import { apiClient, serverOption } from './api-client';
import { outputOf, outputOptions, parseCommand, printJson, table, usageError } from './common';

interface InventoryPage {
  items: Array<{ image: string; digest: string; tags: string[]; platforms: string[]; internalRef: string; approvedAt: string; approvedBy: string[]; requestId: string }>;
  next: string | null;
}

export async function run(argv: string[]): Promise<number> {
  const { values, positionals } = parseCommand('approved', argv, {
    ...serverOption, ...outputOptions, team: { type: 'string' }, list: { type: 'boolean', default: false },
    platform: { type: 'string', multiple: true }, limit: { type: 'string' }, cursor: { type: 'string' },
  });
  if (!values.team) throw usageError('approved', '--team is required');
  if (values.list ? positionals.length !== 0 : positionals.length !== 1) throw usageError('approved', values.list ? '--list takes no IMAGE' : 'name one IMAGE (or use --list)');
  const output = outputOf('approved', values, values.list ? ['text', 'json', 'table'] : ['text', 'json']);
  const api = apiClient(values.server);
  if (values.list) {
    const page = await api.get<InventoryPage>('/v1/approved', { team: values.team, limit: values.limit, cursor: values.cursor });
    if (output === 'json') {
      printJson(page);
      return 0;
    }
    if (output === 'table') {
      process.stdout.write(table(['IMAGE', 'DIGEST', 'TAGS', 'PLATFORMS', 'APPROVED', 'BY'],
        page.items.map((a) => [a.image, a.digest, a.tags.join(',') || '-', a.platforms.length ? a.platforms.join(',') : 'all', a.approvedAt, a.approvedBy.join(',')])));
      if (page.next) process.stdout.write(`more: portcullis approved --list --team ${values.team} --cursor ${page.next}\n`);
      return 0;
    }
    for (const a of page.items) {
      const platforms = a.platforms.length ? a.platforms.join(',') : 'all';
      process.stdout.write(`${a.image}@${a.digest}  tags=${a.tags.join(',') || '-'}  platforms=${platforms}  approved ${a.approvedAt} by ${a.approvedBy.join(',')}  request ${a.requestId}\n  ${a.internalRef}\n`);
    }
    if (page.items.length === 0) process.stdout.write(`no approved images for team ${values.team}\n`);
    if (page.next) process.stdout.write(`more: portcullis approved --list --team ${values.team} --cursor ${page.next}\n`);
    return 0;
  }
  const params = { image: positionals[0], team: values.team, platform: values.platform?.join(',') };
  // JSON even for the bare reference: an error then keeps its code (NOT_APPROVED, REVOKED…).
  const found = await api.get<{ internalRef: string }>('/v1/approved', params);
  if (output === 'json') printJson(found);
  else process.stdout.write(`${found.internalRef}\n`);
  return 0;
}
