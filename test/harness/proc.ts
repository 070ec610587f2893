/**
 * Starting and stopping real service processes for tests and the local stack: free loopback
 * ports, a temp folder each, output to a log file, readiness by polling, and a kill on exit
 * so that nothing outlives the run even when tests fail.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { closeSync, mkdirSync, mkdtempSync, openSync, readFileSync } from 'node:fs';
import net from 'node:net';
import os from 'node:os';
import path from 'node:path';

export interface Service {
  name: string;
  dir: string;
  pid: number;
  stop(): Promise<void>;
}

const running = new Set<ChildProcess>();
process.on('exit', () => {
  for (const child of running) child.kill('SIGKILL');
});

export function ensureDir(dir: string): string {
  mkdirSync(dir, { recursive: true });
  return dir;
}

export function tempDir(prefix: string): string {
  return mkdtempSync(path.join(os.tmpdir(), `portcullis-${prefix}-`));
}

/** A port the kernel just handed out on 127.0.0.1 (closed again, so free to bind). */
export async function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const srv = net.createServer();
    srv.unref();
    srv.on('error', reject);
    srv.listen(0, '127.0.0.1', () => {
      const { port } = srv.address() as net.AddressInfo;
      srv.close(() => resolve(port));
    });
  });
}

export async function waitFor(check: () => Promise<boolean>, what: string, timeoutMs = 20000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    if (await check().catch(() => false)) return;
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 50));
  }
}

export async function portOpen(port: number, host = '127.0.0.1'): Promise<boolean> {
  return new Promise((resolve) => {
    const sock = net.connect(port, host);
    sock.once('connect', () => { sock.destroy(); resolve(true); });
    sock.once('error', () => resolve(false));
  });
}

export interface SpawnOptions {
  name: string;
  command: string;
  args: string[];
  dir: string;
  env?: NodeJS.ProcessEnv;
  ready: () => Promise<boolean>;
  timeoutMs?: number;
}

/** Spawns a service, waits until `ready`, and returns a handle whose stop() waits for exit. */
export async function startProcess(opts: SpawnOptions): Promise<Service> {
  const logFile = path.join(opts.dir, `${opts.name}.log`);
  const fd = openSync(logFile, 'a');
  const child = spawn(opts.command, opts.args, {
    cwd: opts.dir,
    env: { ...process.env, ...opts.env },
    stdio: ['ignore', fd, fd],
  });
  closeSync(fd);
  running.add(child);
  const exited = new Promise<void>((resolve) => child.once('exit', () => { running.delete(child); resolve(); }));
  let failed: Error | undefined;
  child.once('error', (err) => { failed = err; });
  try {
    await waitFor(async () => {
      if (failed) throw failed;
      if (child.exitCode !== null) throw new Error(`${opts.name} exited with ${child.exitCode}`);
      return opts.ready();
    }, opts.name, opts.timeoutMs);
  } catch (err) {
    child.kill('SIGKILL');
    let log = '';
    try { log = readFileSync(logFile, 'utf8').slice(-2000); } catch { /* no log */ }
    throw new Error(`${opts.name} did not start: ${(err as Error).message}\n${log}`);
  }
  return {
    name: opts.name,
    dir: opts.dir,
    pid: child.pid ?? -1,
    async stop() {
      if (child.exitCode !== null || child.signalCode !== null) return;
      child.kill('SIGTERM');
      const timer = setTimeout(() => child.kill('SIGKILL'), 5000);
      await exited;
      clearTimeout(timer);
    },
  };
}

export async function httpOk(url: string, okStatuses: number[] = [200]): Promise<boolean> {
  const res = await fetch(url, { signal: AbortSignal.timeout(2000) });
  await res.arrayBuffer();
  return okStatuses.includes(res.status);
}

/**
 * Polls `f` until it gives a value (not `undefined`), then returns it; after `ms` it fails naming
 * `what`. A deadline for a condition, never an assertion about time.
 */
export async function until<T>(what: string, f: () => Promise<T | undefined> | T | undefined, ms = 30000): Promise<T> {
  const deadline = Date.now() + ms;
  for (;;) {
    const v = await f();
    if (v !== undefined) return v;
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 50));
  }
}
