/** `portcullis status ID [--json]`: one request's state, verdict and scan summary. */
import { parseArgs } from 'node:util';
import { apiClient, serverOption } from './api-client';
import { printRequest, type RequestView } from './request-view';

export async function run(argv: string[]): Promise<number> {
  const { values, positionals } = parseArgs({ args: argv, allowPositionals: true, options: { ...serverOption, json: { type: 'boolean', default: false } } });
  if (positionals.length !== 1) {
    process.stderr.write('usage: portcullis status ID [--json] [--server URL]\n');
    return 2;
  }
  const request = await apiClient(values.server).get<RequestView>(`/v1/requests/${encodeURIComponent(positionals[0])}`);
  if (values.json) process.stdout.write(`${JSON.stringify(request, null, 2)}\n`);
  else printRequest(request);
  return 0;
}
