/**
 * `portcullis approved IMAGE --team TEAM [--json]`: the approved internal reference of an
 * image (what CI pulls), e.g. `docker pull "$(portcullis approved nginx:1.25 --team payments)"`.
 * Exit 1 with NOT_APPROVED when there is none.
 */
import { parseArgs } from 'node:util';
import { apiClient, serverOption } from './api-client';

export async function run(argv: string[]): Promise<number> {
  const { values, positionals } = parseArgs({
    args: argv, allowPositionals: true,
    options: { ...serverOption, team: { type: 'string' }, json: { type: 'boolean', default: false } },
  });
  if (positionals.length !== 1 || !values.team) {
    process.stderr.write('usage: portcullis approved IMAGE --team TEAM [--json] [--server URL]\n');
    return 2;
  }
  const api = apiClient(values.server);
  const params = { image: positionals[0], team: values.team };
  if (values.json) process.stdout.write(`${JSON.stringify(await api.get('/v1/approved', params), null, 2)}\n`);
  else process.stdout.write(`${(await api.getText('/v1/approved', params)).trim()}\n`);
  return 0;
}
