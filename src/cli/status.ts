/** `portcullis status ID`: one request's state, verdict, findings summary, waivers and decisions. */
import { apiClient, serverOption } from './api-client';
import { EXIT, outputOf, outputOptions, parseCommand, printJson, usageError } from './common';
import { printRequest, requestTable, type RequestView } from './request-view';

export const usage = `usage: portcullis status ID [--output text|json|table] [--server URL] [--profile NAME]

Shows one request: state, pinned digest, scans, policy verdict and reasons, waivers, who
approved or rejected it and why, and the approved reference.
`;

export async function run(argv: string[]): Promise<number> {
  const { values, positionals } = parseCommand('status', argv, { ...serverOption, ...outputOptions });
  const output = outputOf('status', values);
  if (positionals.length !== 1) throw usageError('status', 'one request ID is required (portcullis list shows them)');
  const request = await apiClient(values).get<RequestView>(`/v1/requests/${encodeURIComponent(positionals[0])}`);
  if (output === 'json') printJson(request);
  else if (output === 'table') process.stdout.write(requestTable([request]));
  else printRequest(request);
  return EXIT.OK;
}
