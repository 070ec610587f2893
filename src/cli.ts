#!/usr/bin/env node
/**
 * The `portcullis` command. Each subcommand lives in src/cli/<name>.ts and exports
 * `run(argv: string[]): Promise<number>` (the exit code) and, mostly, its `usage`; this file
 * dispatches, answers `--help` and `--version`, and turns errors into one line, a hint of what
 * to do next, and an exit code (see EXIT in cli/common.ts).
 */
import { existsSync, readFileSync } from 'node:fs';
import path from 'node:path';
import { CliError, EXIT } from './cli/common';
import { ConfigError } from './lib/config';
import { isAppError } from './lib/errors';

type Module = { run(argv: string[]): Promise<number>; usage?: string };
type Command = {
  summary: string;
  /** Options offered by shell completion. */
  options: string[];
  /** For modules that do not export their usage. */
  usage?: string;
  load: () => Promise<Module>;
};

const review = (name: 'queue' | 'approve' | 'reject' | 'waive') => async (): Promise<Module> => {
  const m = await import('./cli/review');
  return { run: m.runAs(name), usage: m.usages[name] };
};

// One line per subcommand: the developer's and approver's API commands, then the tools.
const commands: Record<string, Command> = {
  whoami: { summary: 'show who your token is: name, roles, teams', options: [], load: () => import('./cli/whoami') },
  request: { summary: 'ask for an outside image for a team (--wait to follow it)', options: ['--team', '--justification', '--platform', '--wait'], load: () => import('./cli/request') },
  list: { summary: "list your teams' requests (--status, --team, --all)", options: ['--status', '--team', '--limit', '--all'], load: () => import('./cli/list') },
  status: { summary: "show a request's state, verdict, waivers and decisions", options: [], load: () => import('./cli/status') },
  'code-scan': { summary: 'upload SARIF code-scan evidence to a request', options: ['upload'], load: () => import('./cli/code-scan') },
  queue: { summary: 'list the requests awaiting your approval', options: ['--limit', '--all'], load: review('queue') },
  approve: { summary: 'approve a request (four-eyes: not your own)', options: ['--comment'], load: review('approve') },
  reject: { summary: 'reject a request with a reason', options: ['--reason'], load: review('reject') },
  waive: { summary: 'waive one finding of a request until a date', options: ['--reason', '--expires'], load: review('waive') },
  approved: {
    summary: 'print the approved internal reference of an image (for CI), or --list the team\'s', options: ['--team', '--output', '--json', '--platform', '--list', '--limit', '--cursor'],
    usage: 'usage: portcullis approved IMAGE --team TEAM [--platform os/arch]... [--output text|json] [--server URL]\n'
      + '       portcullis approved --list --team TEAM [--limit N] [--cursor C] [--output text|json|table] [--server URL]\n\n'
      + 'Prints the internal reference CI pulls, e.g. docker pull "$(portcullis approved nginx:1.25 --team payments)".\n'
      + 'Exit 1 with NOT_APPROVED (or REVOKED) when there is none; --list shows the team\'s approved images, newest first.\n',
    load: () => import('./cli/approved'),
  },
  revoke: { summary: 'withdraw an approval and deny its digest to the team (admin)', options: ['--team', '--reason', '--digest', '--platform'], load: () => import('./cli/revoke') },
  unrevoke: { summary: 'lift a revocation from the team\'s deny-list (admin)', options: ['--digest', '--team', '--image', '--reason'], load: async () => { const m = await import('./cli/revoke'); return { run: m.runUnrevoke, usage: m.unrevokeUsage }; } },
  copy: { summary: 'copy an image or index byte for byte between registries', options: ['--platform', '--jobs', '--retries', '--src-insecure', '--dest-insecure', '--src-creds-env', '--dest-creds-env', '--authfile', '--quiet'], load: () => import('./cli/copy') },
  inspect: { summary: 'show the digest, media type, size and platforms of an image', options: ['--insecure', '--creds-env', '--authfile'], load: () => import('./cli/inspect') },
  audit: {
    summary: 'verify or export the hash-chained audit log', options: ['verify', 'export', 'archive', '--after', '--checkpoints', '--archive', '--to', '--before'],
    usage: 'usage: portcullis audit verify [--checkpoints DIR] [--archive FILE]...\n       portcullis audit export [--after SEQ]\n       portcullis audit archive --to FILE --before DATE\n\nReads Redis through the service configuration (PORTCULLIS_CONFIG) with the audit key\n(PORTCULLIS_AUDIT_KEY); the local stack writes both to .stack/demo-tokens.env.\nExit 0 intact, 1 broken, 2 usage or configuration, 3 Redis unreachable, 4 other failure.\n',
    load: () => import('./cli/audit'),
  },
  robot: { summary: 'create, rotate, disable, enable, delete or list robot accounts (admins)', options: ['create', 'rotate', 'disable', 'enable', 'delete', 'list', '--team', '--role', '--expires-in-days', '--json'], load: () => import('./cli/robot') },
  vulndb: { summary: 'fetch or refresh the OSV database of the builtin scanner', options: ['sync', '--from', '--to', '--quiet'], load: () => import('./cli/vulndb') },
  config: { summary: 'manage server profiles (~/.config/portcullis/config.yaml)', options: ['view', 'path', 'set-profile', 'use-profile', '--server', '--token-env'], load: () => import('./cli/config-cmd') },
  completion: {
    summary: 'print a bash or zsh completion script', options: ['bash', 'zsh'],
    load: async () => {
      const m = await import('./cli/completion');
      return { run: m.runWith(Object.fromEntries(Object.entries(commands).map(([n, c]) => [n, c.options]))), usage: m.usage };
    },
  },
};

function usage(): string {
  const lines = Object.entries(commands).map(([name, c]) => `  ${name.padEnd(11)} ${c.summary}`);
  return `usage: portcullis <command> [options]     (portcullis <command> --help for its options)

commands:
${lines.join('\n')}

The server: --server URL, else PORTCULLIS_URL, else the current profile (portcullis config),
else http://127.0.0.1:8080. The token: PORTCULLIS_TOKEN (never a flag, so that it stays out of
shell history). Read commands take --output text|json|table.
Exit codes: 0 done, 1 refused or failed, 2 bad usage, 3 server or service unreachable.
`;
}

function version(): string {
  // dist/src/cli.js and src/cli.ts sit at different depths below package.json.
  for (const up of ['..', '../..']) {
    const file = path.join(__dirname, up, 'package.json');
    if (existsSync(file)) return (JSON.parse(readFileSync(file, 'utf8')) as { version: string }).version;
  }
  return 'unknown';
}

const NETWORK_CODES = new Set(['ECONNREFUSED', 'ECONNRESET', 'EHOSTUNREACH', 'ENETUNREACH', 'ENOTFOUND', 'EAI_AGAIN', 'ETIMEDOUT']);

/** One line and a hint; the exit code says what kind of failure it was. */
function report(err: unknown): number {
  const write = (msg: string, hint?: string) => process.stderr.write(`portcullis: ${msg}\n${hint ? `  → ${hint}\n` : ''}`);
  if (err instanceof CliError) { write(err.message, err.hint); return err.exitCode; }
  if (err instanceof ConfigError) { process.stderr.write(`${err.message}\n`); return EXIT.USAGE; }
  const code = (err as { code?: unknown })?.code;
  const message = err instanceof Error ? err.message : String(err);
  // ioredis reports a refused connection as "Connection is closed." once it gives up.
  if ((typeof code === 'string' && NETWORK_CODES.has(code)) || [...NETWORK_CODES].some((c) => message.includes(c)) || message === 'Connection is closed.') {
    write(`cannot reach a service: ${message}`, 'is it running? check --server / PORTCULLIS_URL, or PORTCULLIS_CONFIG for commands that read Redis');
    return EXIT.UNREACHABLE;
  }
  if (isAppError(err)) {
    write(`${err.code}: ${err.message}`);
    return err.code === 'DEPENDENCY_UNAVAILABLE' || err.code === 'REGISTRY_UNAVAILABLE' ? EXIT.UNREACHABLE : EXIT.FAILED;
  }
  write(message);
  return EXIT.FAILED;
}

async function main(argv: string[]): Promise<number> {
  const [name, ...rest] = argv;
  if (name === '--version' || name === '-v' || name === 'version') {
    process.stdout.write(`portcullis ${version()}\n`);
    return EXIT.OK;
  }
  if (!name || name === '--help' || name === '-h' || name === 'help') {
    if (name === 'help' && rest[0] && commands[rest[0]]) return main([rest[0], '--help']);
    (name ? process.stdout : process.stderr).write(usage());
    return name ? EXIT.OK : EXIT.USAGE;
  }
  const command = commands[name];
  if (!command) {
    process.stderr.write(`portcullis: unknown command '${name}'\n  → portcullis --help lists the commands\n`);
    return EXIT.USAGE;
  }
  const mod = await command.load();
  if (rest.includes('--help') || rest.includes('-h')) {
    process.stdout.write(mod.usage ?? command.usage ?? `usage: portcullis ${name} …\n`);
    return EXIT.OK;
  }
  return mod.run(rest);
}

main(process.argv.slice(2)).then(
  (code) => { process.exitCode = code; },
  (err: unknown) => { process.exitCode = report(err); },
);
