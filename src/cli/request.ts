/**
 * `portcullis request IMAGE --team T --justification TEXT [--platform os/arch]... [--wait]`:
 * asks for an outside image; with --wait, follows it until it needs a person or ends.
 * `portcullis status ID`: one request's state, verdict and findings summary.
 */
import { parseArgs } from 'node:util';
import { apiClient, serverOption } from './api-client';
import { printRequest, type RequestView } from './request-view';

const USAGE = 'usage: portcullis request IMAGE --team TEAM --justification TEXT [--platform os/arch]... [--wait] [--server URL]\n';
const SETTLED = new Set(['awaiting_approval', 'approved', 'rejected', 'failed', 'revoked']);

export async function run(argv: string[], sleep = (ms: number) => new Promise((r) => setTimeout(r, ms))): Promise<number> {
  const { values, positionals } = parseArgs({
    args: argv,
    allowPositionals: true,
    options: {
      ...serverOption,
      team: { type: 'string' },
      justification: { type: 'string' },
      platform: { type: 'string', multiple: true },
      wait: { type: 'boolean', default: false },
    },
  });
  if (positionals.length !== 1 || !values.team || !values.justification) {
    process.stderr.write(USAGE);
    return 2;
  }
  const api = apiClient(values.server);
  let request = await api.post<RequestView>('/v1/requests', {
    image: positionals[0], team: values.team, justification: values.justification,
    ...(values.platform?.length ? { platforms: values.platform } : {}),
  });
  process.stderr.write(`request ${request.id} created\n`);
  while (values.wait && !SETTLED.has(request.status)) {
    await sleep(1000);
    request = await api.get<RequestView>(`/v1/requests/${encodeURIComponent(request.id)}`);
  }
  printRequest(request);
  return request.status === 'failed' || request.status === 'rejected' ? 1 : 0;
}
