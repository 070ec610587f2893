/** `portcullis whoami`: who the token is (name, roles, teams, where the identity came from) and which server. */
import { apiClient, serverOption } from './api-client';
import { EXIT, outputOf, outputOptions, parseCommand, printJson, table, usageError } from './common';

export const usage = `usage: portcullis whoami [--output text|json|table] [--server URL] [--profile NAME]

Shows who your token is on the server: name, roles, teams and the identity source.
`;

interface WhoAmI { name: string; roles: string[]; teams: string[]; source: string }

export async function run(argv: string[]): Promise<number> {
  const { values, positionals } = parseCommand('whoami', argv, { ...serverOption, ...outputOptions });
  if (positionals.length) throw usageError('whoami', `unexpected argument '${positionals[0]}'`);
  const output = outputOf('whoami', values);
  const api = apiClient(values);
  const me = await api.get<WhoAmI>('/v1/whoami');
  if (output === 'json') printJson({ ...me, server: api.server });
  else if (output === 'table') process.stdout.write(table(['NAME', 'ROLES', 'TEAMS', 'SOURCE', 'SERVER'], [[me.name, me.roles.join(','), me.teams.join(','), me.source, api.server]]));
  else process.stdout.write(`name:    ${me.name}\nroles:   ${me.roles.join(', ') || '(none)'}\nteams:   ${me.teams.join(', ') || '(none)'}\nsource:  ${me.source}\nserver:  ${api.server}\n`);
  return EXIT.OK;
}
