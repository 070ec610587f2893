/**
 * Runs the TypeScript sources as real processes (a worker to kill, the CLI), without a
 * build: a small require hook compiles .ts with @swc/core, the compiler jest itself uses.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { writeFileSync } from 'node:fs';
import path from 'node:path';
import { tempDir } from './proc';

const ROOT = path.resolve(__dirname, '../..');

let hookFile: string | undefined;

function hook(): string {
  if (hookFile) return hookFile;
  hookFile = path.join(tempDir('ts-hook'), 'ts-hook.js');
  writeFileSync(hookFile, `
const fs = require('fs');
const swc = require(${JSON.stringify(path.join(ROOT, 'node_modules/@swc/core'))});
require.extensions['.ts'] = function (module, filename) {
  const { code } = swc.transformSync(fs.readFileSync(filename, 'utf8'), {
    filename, sourceMaps: 'inline', module: { type: 'commonjs' },
    jsc: { parser: { syntax: 'typescript' }, target: 'es2022' },
  });
  module._compile(code, filename);
};
`);
  return hookFile;
}

export interface TsProcess {
  child: ChildProcess;
  output(): string;
  exited: Promise<number | null>;
}

/** Starts `src/<script>` with `args`; output is collected for assertions and failure messages. */
export function runTs(script: string, args: string[], env: NodeJS.ProcessEnv = {}): TsProcess {
  const child = spawn(process.execPath, ['-r', hook(), path.join(ROOT, script), ...args], {
    cwd: ROOT, env: { PORTCULLIS_METRICS_PORT: '0', ...process.env, ...env }, stdio: ['ignore', 'pipe', 'pipe'],
  });
  let out = '';
  child.stdout?.on('data', (c: Buffer) => { out += c.toString(); });
  child.stderr?.on('data', (c: Buffer) => { out += c.toString(); });
  const exited = new Promise<number | null>((resolve) => child.on('exit', (code) => resolve(code)));
  process.once('exit', () => child.kill('SIGKILL'));
  return { child, output: () => out, exited };
}

/** A worker process (`main.ts --role worker`) on the given config file. */
export function startWorkerProcess(configFile: string): TsProcess {
  return runTs('src/main.ts', ['--role', 'worker'], { PORTCULLIS_CONFIG: configFile, PORTCULLIS_LOG_LEVEL: 'warn' });
}

/** Runs the CLI to completion: its exit code and output. */
export async function runCli(args: string[], configFile: string): Promise<{ code: number | null; output: string }> {
  const p = runTs('src/cli.ts', args, { PORTCULLIS_CONFIG: configFile });
  const code = await p.exited;
  return { code, output: p.output() };
}
