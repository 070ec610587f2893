#!/usr/bin/env node
/**
 * The `portcullis` command. Each subcommand lives in src/cli/<name>.ts and exports
 * `run(argv: string[]): Promise<number>` (the exit code); this file only dispatches.
 */
import { ConfigError } from './lib/config';
import { isAppError } from './lib/errors';

type Command = { summary: string; load: () => Promise<{ run(argv: string[]): Promise<number> }> };

// One line per subcommand: the developer's and approver's API commands, then the tools.
const commands: Record<string, Command> = {
  request: { summary: 'ask for an outside image for a team (--wait to follow it)', load: () => import('./cli/request') },
  status: { summary: "show a request's state, verdict and scan summary", load: () => import('./cli/status') },
  queue: { summary: 'list the requests awaiting your approval', load: async () => ({ run: (await import('./cli/review')).runAs('queue') }) },
  approve: { summary: 'approve a request (four-eyes: not your own)', load: async () => ({ run: (await import('./cli/review')).runAs('approve') }) },
  reject: { summary: 'reject a request with a reason', load: async () => ({ run: (await import('./cli/review')).runAs('reject') }) },
  waive: { summary: 'waive one finding of a request until a date', load: async () => ({ run: (await import('./cli/review')).runAs('waive') }) },
  approved: { summary: 'print the approved internal reference of an image (for CI), or --list the team\'s', load: () => import('./cli/approved') },
  revoke: { summary: 'withdraw an approval and deny its digest to the team (admin)', load: () => import('./cli/revoke') },
  unrevoke: { summary: 'lift a revocation from the team\'s deny-list (admin)', load: async () => ({ run: (await import('./cli/revoke')).runUnrevoke }) },
  copy: { summary: 'copy an image or index byte for byte between registries', load: () => import('./cli/copy') },
  inspect: { summary: 'show the digest, media type, size and platforms of an image', load: () => import('./cli/inspect') },
  audit: { summary: 'verify or export the hash-chained audit log', load: () => import('./cli/audit') },
  vulndb: { summary: 'fetch or refresh the OSV database of the builtin scanner', load: () => import('./cli/vulndb') },
};

function usage(): string {
  const lines = Object.entries(commands).map(([name, c]) => `  ${name.padEnd(8)} ${c.summary}`);
  return `usage: portcullis <command> [options]\n\ncommands:\n${lines.join('\n')}\n`;
}

async function main(argv: string[]): Promise<number> {
  const [name, ...rest] = argv;
  if (!name || name === '--help' || name === '-h' || name === 'help') {
    process.stdout.write(usage());
    return name ? 0 : 2;
  }
  const command = commands[name];
  if (!command) {
    process.stderr.write(`portcullis: unknown command '${name}'\n${usage()}`);
    return 2;
  }
  const mod = await command.load();
  return mod.run(rest);
}

main(process.argv.slice(2)).then(
  (code) => { process.exitCode = code; },
  (err: unknown) => {
    if (err instanceof ConfigError) process.stderr.write(`${err.message}\n`);
    else if (isAppError(err)) process.stderr.write(`portcullis: ${err.code}: ${err.message}\n`);
    else process.stderr.write(`portcullis: ${err instanceof Error ? err.message : String(err)}\n`);
    process.exitCode = 1;
  },
);
