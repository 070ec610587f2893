/**
 * Starts the built service (`node dist/src/main.js`, built by `npm test`'s pretest) with a config
 * overlay written to a temp file, capturing its output, for process-level start-up tests.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { mkdtempSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import YAML from 'yaml';

const ROOT = path.resolve(__dirname, '../../..');
const MAIN = path.join(ROOT, 'dist/src/main.js');

export interface StartedService {
  child: ChildProcess;
  stdout(): string;
  stderr(): string;
  /** The exit code (null when killed by a signal). */
  exited: Promise<number | null>;
}

export function startService(config: Record<string, unknown>, args: string[] = [], env: NodeJS.ProcessEnv = {}): StartedService {
  const dir = mkdtempSync(path.join(os.tmpdir(), 'portcullis-startup-'));
  const file = path.join(dir, 'config.yaml');
  writeFileSync(file, YAML.stringify(config));
  const child = spawn(process.execPath, [MAIN, ...args], { cwd: ROOT, env: { PORTCULLIS_METRICS_PORT: '0', ...process.env, ...env, PORTCULLIS_CONFIG: file }, stdio: ['ignore', 'pipe', 'pipe'] });
  let out = '';
  let err = '';
  child.stdout.on('data', (c: Buffer) => { out += c.toString(); });
  child.stderr.on('data', (c: Buffer) => { err += c.toString(); });
  const exited = new Promise<number | null>((resolve) => child.on('exit', resolve));
  return { child, stdout: () => out, stderr: () => err, exited };
}

/** The service's JSON log lines. */
export function logLines(s: StartedService): Array<Record<string, unknown>> {
  return s.stdout().trim().split('\n').filter(Boolean).map((l) => JSON.parse(l) as Record<string, unknown>);
}
