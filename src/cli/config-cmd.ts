/**
 * `portcullis config`: the profiles file (see profiles.ts). `view`, `set-profile NAME --server URL
 * [--token-env VAR]`, `use-profile NAME`, `path`.
 */
import { CliError, EXIT, parseCommand, redactUrl, usageError } from './common';
import { configPath, readProfiles, writeProfiles } from './profiles';
import YAML from 'yaml';

export const usage = `usage: portcullis config view | path
       portcullis config set-profile NAME --server URL [--token-env VAR]
       portcullis config use-profile NAME

Profiles name servers, like kubectl contexts, in $XDG_CONFIG_HOME/portcullis/config.yaml
(default ~/.config/portcullis/config.yaml). The current profile is used unless --server,
PORTCULLIS_URL, --profile or PORTCULLIS_PROFILE say otherwise. Tokens never go in the file: a
profile may name the environment variable holding its token (--token-env; default PORTCULLIS_TOKEN).
`;

export async function run(argv: string[]): Promise<number> {
  const [sub, ...rest] = argv;
  const { values, positionals } = parseCommand('config', rest, { server: { type: 'string' }, 'token-env': { type: 'string' } });
  switch (sub) {
    case 'path':
      process.stdout.write(`${configPath()}\n`);
      return EXIT.OK;
    case 'view':
      process.stdout.write(YAML.stringify(readProfiles()));
      return EXIT.OK;
    case 'set-profile': {
      if (positionals.length !== 1 || !values.server) throw usageError('config', 'set-profile takes NAME and --server URL');
      let url: URL;
      try { url = new URL(values.server); } catch { throw usageError('config', '--server is not a URL'); }
      if (url.username || url.password) throw new CliError(`--server ${redactUrl(values.server)} carries credentials; profiles hold none`, EXIT.USAGE, 'name the token variable with --token-env');
      const data = readProfiles();
      data.profiles[positionals[0]] = { server: url.href.replace(/\/+$/, ''), ...(values['token-env'] ? { tokenEnv: values['token-env'] } : {}) };
      data.current ??= positionals[0];
      process.stdout.write(`profile ${positionals[0]} saved in ${writeProfiles(data)}${data.current === positionals[0] ? ' (current)' : ''}\n`);
      return EXIT.OK;
    }
    case 'use-profile': {
      const data = readProfiles();
      if (positionals.length !== 1) throw usageError('config', 'use-profile takes NAME');
      if (!data.profiles[positionals[0]]) throw new CliError(`no profile '${positionals[0]}'`, EXIT.USAGE, `add it: portcullis config set-profile ${positionals[0]} --server URL`);
      data.current = positionals[0];
      writeProfiles(data);
      process.stdout.write(`current profile: ${positionals[0]} (${data.profiles[positionals[0]].server})\n`);
      return EXIT.OK;
    }
    default:
      throw usageError('config', sub ? `unknown subcommand '${sub}'` : 'a subcommand is required');
  }
}
