/**
 * Approver commands: `portcullis queue`, `portcullis approve ID --comment TEXT`,
 * `portcullis reject ID --reason TEXT`, `portcullis waive ID FINDING --reason TEXT --expires DATE`.
 */
import { parseArgs } from 'node:util';
import { apiClient, serverOption } from './api-client';
import { formatRequest, printRequest, type RequestView } from './request-view';

const USAGE = `usage: portcullis queue [--server URL]
       portcullis approve ID [--comment TEXT]
       portcullis reject ID --reason TEXT
       portcullis waive ID FINDING_ID --reason TEXT --expires YYYY-MM-DD
`;

export function runAs(command: 'queue' | 'approve' | 'reject' | 'waive') {
  return async (argv: string[]): Promise<number> => {
    const { values, positionals } = parseArgs({
      args: argv,
      allowPositionals: true,
      options: { ...serverOption, comment: { type: 'string' }, reason: { type: 'string' }, expires: { type: 'string' } },
    });
    const api = () => apiClient(values.server);
    const id = positionals[0] ? encodeURIComponent(positionals[0]) : '';
    switch (command) {
      case 'queue': {
        const page = await api().get<{ items: RequestView[] }>('/v1/queue');
        process.stdout.write(page.items.length ? page.items.map(formatRequest).join('\n') : 'the queue is empty\n');
        return 0;
      }
      case 'approve':
        if (positionals.length !== 1) break;
        printRequest(await api().post<RequestView>(`/v1/requests/${id}/approve`, { comment: values.comment ?? '' }));
        return 0;
      case 'reject':
        if (positionals.length !== 1 || !values.reason) break;
        printRequest(await api().post<RequestView>(`/v1/requests/${id}/reject`, { reason: values.reason }));
        return 0;
      case 'waive': {
        if (positionals.length !== 2 || !values.reason || !values.expires) break;
        const expires = new Date(values.expires);
        if (Number.isNaN(expires.getTime())) break;
        printRequest(await api().post<RequestView>(`/v1/requests/${id}/waivers`, { findingId: positionals[1], reason: values.reason, expires: expires.toISOString() }));
        return 0;
      }
    }
    process.stderr.write(USAGE);
    return 2;
  };
}
