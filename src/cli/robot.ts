/**
 * `portcullis robot create|rotate|disable|enable|delete|list`: robot accounts, for admins.
 *
 *   portcullis robot create NAME --team T --role ci [--role …] --expires-in-days N
 *   portcullis robot rotate ID [--expires-in-days N]
 *   portcullis robot disable|enable|delete ID
 *   portcullis robot list [--json]
 *
 * create and rotate print the token on stdout alone (for `$(…)` into a secret store) and the
 * details on stderr: the token is shown this once and cannot be read back.
 */
import { parseArgs } from 'node:util';
import type { RobotView } from '../identity';
import { apiClient, serverOption } from './api-client';

/** What `portcullis robot --help` prints (src/cli.ts reads `usage`). */
export const usage = `usage: portcullis robot create NAME --team TEAM --role ROLE [--role ROLE] --expires-in-days N
       portcullis robot rotate ID [--expires-in-days N]
       portcullis robot disable|enable|delete ID
       portcullis robot list [--json]
  [--server URL]; the token comes from PORTCULLIS_TOKEN
`;

type Issued = { robot: RobotView; token: string };

function days(value: string | undefined): number | undefined {
  if (value === undefined) return undefined;
  const n = Number(value);
  return Number.isInteger(n) ? n : Number.NaN;
}

function describe(r: RobotView): string {
  const state = r.disabled ? `disabled (${r.disabledReason ?? 'admin'})` : 'enabled';
  return `${r.id}  ${r.team}/${r.name}  roles=${r.roles.join(',')}  expires=${r.expiresAt}  ${state}  lastUsed=${r.lastUsedAt ?? 'never'}`;
}

export async function run(argv: string[]): Promise<number> {
  const [action, ...rest] = argv;
  const { values, positionals } = parseArgs({
    args: rest, allowPositionals: true,
    options: {
      ...serverOption, team: { type: 'string' }, role: { type: 'string', multiple: true },
      'expires-in-days': { type: 'string' }, json: { type: 'boolean', default: false },
    },
  });
  const badUsage = (): number => { process.stderr.write(usage); return 2; };
  const expiresInDays = days(values['expires-in-days']);
  if (Number.isNaN(expiresInDays)) return badUsage();
  const issued = (r: Issued): number => {
    process.stderr.write(`${describe(r.robot)}\nthe token below is shown once; store it now\n`);
    process.stdout.write(`${r.token}\n`);
    return 0;
  };
  switch (action) {
    case 'create': {
      if (positionals.length !== 1 || !values.team || !values.role?.length || expiresInDays === undefined) return badUsage();
      return issued(await apiClient(values.server).post<Issued>('/v1/robots', { name: positionals[0], team: values.team, roles: values.role, expiresInDays }));
    }
    case 'rotate':
      if (positionals.length !== 1) return badUsage();
      return issued(await apiClient(values.server).post<Issued>(`/v1/robots/${encodeURIComponent(positionals[0])}/rotate`, expiresInDays === undefined ? {} : { expiresInDays }));
    case 'disable':
    case 'enable':
      if (positionals.length !== 1) return badUsage();
      process.stdout.write(`${describe(await apiClient(values.server).post<RobotView>(`/v1/robots/${encodeURIComponent(positionals[0])}/${action}`, {}))}\n`);
      return 0;
    case 'delete':
      if (positionals.length !== 1) return badUsage();
      await apiClient(values.server).delete(`/v1/robots/${encodeURIComponent(positionals[0])}`);
      process.stdout.write(`deleted ${positionals[0]}\n`);
      return 0;
    case 'list': {
      if (positionals.length !== 0) return badUsage();
      const { robots } = await apiClient(values.server).get<{ robots: RobotView[] }>('/v1/robots');
      process.stdout.write(values.json ? `${JSON.stringify(robots, null, 2)}\n` : robots.map((r) => `${describe(r)}\n`).join(''));
      return 0;
    }
    default:
      return badUsage();
  }
}
