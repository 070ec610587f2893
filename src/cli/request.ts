/**
 * `portcullis request IMAGE --team T --justification TEXT [--platform os/arch]... [--wait]`:
 * asks for an outside image; with --wait, follows it until it needs a person or ends.
 */
import { apiClient, serverOption } from './api-client';
import { EXIT, outputOf, outputOptions, parseCommand, printJson, usageError } from './common';
import { printRequest, type RequestView } from './request-view';

export const usage = `usage: portcullis request IMAGE --team TEAM --justification TEXT [--platform os/arch]... [--wait]
                          [--output text|json] [--server URL] [--profile NAME]

Asks for an outside image (e.g. docker.io/library/nginx:1.25) for TEAM. With --wait, follows it
until it awaits approval, is approved, or fails. A request for a digest your team already asked
for joins that request ("deduplicated"); one already approved answers at once.
Exit: 0 done, 1 refused or failed, 2 bad usage, 3 server unreachable.
`;
const SETTLED = new Set(['awaiting_approval', 'approved', 'rejected', 'failed', 'revoked']);

export async function run(argv: string[], sleep = (ms: number) => new Promise((r) => setTimeout(r, ms))): Promise<number> {
  const { values, positionals } = parseCommand('request', argv, {
    ...serverOption, ...outputOptions,
    team: { type: 'string' }, justification: { type: 'string' }, platform: { type: 'string', multiple: true }, wait: { type: 'boolean' },
  });
  const output = outputOf('request', values, ['text', 'json']);
  if (positionals.length !== 1) throw usageError('request', positionals.length ? `one IMAGE, not ${positionals.length}` : 'IMAGE is missing');
  if (!values.team) throw usageError('request', '--team is required');
  if (!values.justification) throw usageError('request', '--justification is required (why the team needs this image)');
  const api = apiClient(values);
  const { data, headers } = await api.postWithHeaders<RequestView>('/v1/requests', {
    image: positionals[0], team: values.team, justification: values.justification,
    ...(values.platform?.length ? { platforms: values.platform } : {}),
  });
  let request = data;
  const dedup = headers['x-portcullis-deduplicated'];
  process.stderr.write(dedup === 'approved' ? `request ${request.id}: already approved for ${request.team} (deduplicated)\n`
    : dedup ? `request ${request.id}: deduplicated: joined the request already running for this digest and team\n`
      : `request ${request.id} created\n`);
  while (values.wait && !SETTLED.has(request.status)) {
    await sleep(1000);
    request = await api.get<RequestView>(`/v1/requests/${encodeURIComponent(request.id)}`);
  }
  if (output === 'json') printJson(request);
  else printRequest(request);
  return request.status === 'failed' || request.status === 'rejected' ? EXIT.FAILED : EXIT.OK;
}
