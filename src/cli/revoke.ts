/**
 * `portcullis revoke (IMAGE | --digest D) --team TEAM --reason TEXT [--platform P]…` (admins):
 * withdraws an approval (an image reference revokes that name only; a digest every name of it)
 * and puts the digest on the team's deny-list.
 * `portcullis unrevoke --digest D --team TEAM [--image NAME] --reason TEXT` lifts it.
 */
import { parseArgs } from 'node:util';
import { apiClient, serverOption } from './api-client';

/** What `portcullis revoke --help` prints (src/cli.ts reads `usage`). */
export const usage = 'usage: portcullis revoke (IMAGE | --digest sha256:…) --team TEAM --reason TEXT [--platform os/arch]... [--server URL]\n';
export const unrevokeUsage = 'usage: portcullis unrevoke --digest sha256:… --team TEAM [--image NAME] --reason TEXT [--server URL]\n';

export async function run(argv: string[]): Promise<number> {
  const { values, positionals } = parseArgs({
    args: argv, allowPositionals: true,
    options: { ...serverOption, team: { type: 'string' }, reason: { type: 'string' }, digest: { type: 'string' }, platform: { type: 'string', multiple: true } },
  });
  if (!values.team || !values.reason || (values.digest ? positionals.length !== 0 : positionals.length !== 1)) {
    process.stderr.write(usage);
    return 2;
  }
  const body = {
    team: values.team, reason: values.reason,
    ...(values.digest ? { digest: values.digest } : { image: positionals[0] }),
    ...(values.platform?.length ? { platforms: values.platform } : {}),
  };
  const { revoked } = await apiClient(values.server).post<{ revoked: Array<{ image: string; digest: string; internalRef: string }> }>('/v1/approvals/revoke', body);
  for (const a of revoked) process.stdout.write(`revoked ${a.image}@${a.digest} for team ${values.team} (was ${a.internalRef})\n`);
  if (revoked.length === 0) process.stdout.write(`no approval to withdraw; requests of ${values.digest ?? positionals[0]} revoked and the digest denied for team ${values.team}\n`);
  return 0;
}

export async function runUnrevoke(argv: string[]): Promise<number> {
  const { values, positionals } = parseArgs({
    args: argv, allowPositionals: true,
    options: { ...serverOption, team: { type: 'string' }, reason: { type: 'string' }, digest: { type: 'string' }, image: { type: 'string' } },
  });
  if (!values.team || !values.reason || !values.digest || positionals.length !== 0) {
    process.stderr.write(unrevokeUsage);
    return 2;
  }
  const lifted = await apiClient(values.server).post<{ by: string; at: string; reason: string }>('/v1/approvals/unrevoke', {
    digest: values.digest, team: values.team, reason: values.reason, ...(values.image ? { image: values.image } : {}),
  });
  process.stdout.write(`lifted the revocation of ${values.digest} for team ${values.team} (revoked by ${lifted.by} at ${lifted.at}: ${lifted.reason})\n`);
  return 0;
}
