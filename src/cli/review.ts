/**
 * Approver commands: `portcullis queue`, `portcullis approve ID`, `portcullis reject ID`,
 * `portcullis waive ID FINDING --reason TEXT --expires DATE`.
 */
import { apiClient, serverOption } from './api-client';
import { CliError, EXIT, outputOf, outputOptions, parseCommand, printJson, usageError } from './common';
import { collect, type Page } from './list';
import { formatRequest, printRequest, requestTable, utc, type RequestView } from './request-view';

export const usages = {
  queue: `usage: portcullis queue [--limit N | --all] [--output text|table|json] [--server URL] [--profile NAME]

The requests awaiting your decision, oldest first (the first 50 unless --limit or --all);
says how many more there are.
`,
  approve: `usage: portcullis approve ID [--comment TEXT] [--server URL] [--profile NAME]

Approves a request awaiting approval (never your own: four-eyes). Blocking findings must be
waived first (portcullis waive).
`,
  reject: `usage: portcullis reject ID --reason TEXT [--server URL] [--profile NAME]

Rejects a request; the reason is shown to the requester and kept in the audit log.
`,
  waive: `usage: portcullis waive ID FINDING_ID --reason TEXT --expires DATE [--server URL] [--profile NAME]

Accepts one finding of a request until DATE. DATE is YYYY-MM-DD (the waiver lasts to the end
of that day, 23:59:59 UTC) or an ISO 8601 date-time with a zone (2027-01-31T17:00:00+01:00);
at most policy.waivers.maxDays (365 by default) ahead.
`,
} as const;

const DATE_ONLY = /^\d{4}-\d{2}-\d{2}$/;
const DATE_TIME = /^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}(:\d{2}(\.\d+)?)?(Z|[+-]\d{2}:\d{2})$/;

/** The `--expires` value as the API takes it; a date that does not exist is named as the problem. */
export function parseExpires(raw: string): { value: string; shown: string } {
  const bad = () => usageError('waive', `--expires '${raw}' is not a date: write YYYY-MM-DD (the waiver ends 23:59:59 UTC that day) or an ISO 8601 date-time with a zone`);
  if (DATE_ONLY.test(raw)) {
    const [y, m, d] = raw.split('-').map(Number);
    const day = new Date(Date.UTC(y, m - 1, d));
    if (day.getUTCFullYear() !== y || day.getUTCMonth() !== m - 1 || day.getUTCDate() !== d) {
      throw usageError('waive', `--expires '${raw}' is not a day of the calendar`);
    }
    return { value: raw, shown: `${raw} 23:59:59 UTC (end of that day)` };
  }
  if (DATE_TIME.test(raw) && !Number.isNaN(Date.parse(raw))) return { value: raw, shown: utc(raw) };
  throw bad();
}

export function runAs(command: 'queue' | 'approve' | 'reject' | 'waive') {
  return async (argv: string[]): Promise<number> => {
    const { values, positionals } = parseCommand(command, argv, {
      ...serverOption, ...outputOptions,
      comment: { type: 'string' }, reason: { type: 'string' }, expires: { type: 'string' }, limit: { type: 'string' }, all: { type: 'boolean' },
    });
    const id = positionals[0] ? encodeURIComponent(positionals[0]) : '';
    switch (command) {
      case 'queue': {
        const output = outputOf('queue', values);
        const limit = values.all ? Number.MAX_SAFE_INTEGER : Number(values.limit ?? 50);
        if (!Number.isInteger(limit) || limit < 1) throw usageError('queue', '--limit must be a positive integer');
        const api = apiClient(values);
        const get = (cursor?: string) => api.get<Page>('/v1/queue', { cursor, limit: String(Math.min(limit, 100)) });
        const { items, more, next } = await collect(get, limit);
        // How many more: counted by paging on (bounded), so the hint is a number, not "maybe".
        let rest = 0;
        if (more && next) rest = (await collect((c) => get(c ?? next), 10000)).items.length;
        if (output === 'json') printJson({ items, more: rest });
        else if (!items.length) process.stdout.write('the queue is empty\n');
        else process.stdout.write(output === 'table' ? requestTable(items) : items.map(formatRequest).join('\n'));
        if (rest && output !== 'json') process.stdout.write(`… and ${rest >= 10000 ? 'at least 10000' : rest} more awaiting approval (portcullis queue --all, or --limit N)\n`);
        return EXIT.OK;
      }
      case 'approve':
        if (positionals.length !== 1) throw usageError('approve', 'one request ID is required');
        printRequest(await apiClient(values).post<RequestView>(`/v1/requests/${id}/approve`, { comment: values.comment ?? '' }));
        return EXIT.OK;
      case 'reject':
        if (positionals.length !== 1) throw usageError('reject', 'one request ID is required');
        if (!values.reason) throw usageError('reject', '--reason is required (the requester reads it)');
        printRequest(await apiClient(values).post<RequestView>(`/v1/requests/${id}/reject`, { reason: values.reason }));
        return EXIT.OK;
      case 'waive': {
        if (positionals.length !== 2) throw usageError('waive', 'ID and FINDING_ID are required (portcullis status ID lists the blocking findings)');
        if (!values.reason) throw usageError('waive', '--reason is required');
        if (!values.expires) throw usageError('waive', '--expires is required (YYYY-MM-DD)');
        const expires = parseExpires(values.expires);
        const request = await apiClient(values).post<RequestView>(`/v1/requests/${id}/waivers`, { findingId: positionals[1], reason: values.reason, expires: expires.value });
        process.stderr.write(`waived ${positionals[1]} until ${expires.shown}\n`);
        printRequest(request);
        return EXIT.OK;
      }
    }
    throw new CliError(`unknown command ${command}`, EXIT.USAGE);
  };
}
