/** Hostile image content shared by the tests that run the built service (issue 8). */
import { readFileSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { createGzip } from 'node:zlib';
import YAML from 'yaml';
import { sha256Hex } from '../../../src/lib/identity/tokens-file';
import { freePort, tempDir } from '../../harness/proc';
import { services, uniqueName } from '../../harness/services';
import { privateOsvDb } from '../flow/scan-fixtures';
import { pack } from 'tar-stream';

const MiB = 1024 * 1024;

/** The bomb: twelve 60 MiB dpkg status.d files of one repeated record, gzipped as a stream. */
export async function statusDBomb(): Promise<Buffer> {
  const tar = pack();
  const gz = createGzip({ level: 9 });
  const out: Buffer[] = [];
  gz.on('data', (c: Buffer) => out.push(c));
  const done = new Promise<void>((resolve, reject) => { gz.on('end', resolve); gz.on('error', reject); });
  tar.pipe(gz);
  const record = Buffer.from('Package: bomb\nStatus: install ok installed\nVersion: 1.0-1\n\n');
  const chunk = Buffer.alloc(MiB);
  for (let at = 0; at < MiB; at += record.length) record.copy(chunk, at);
  for (let f = 0; f < 12; f += 1) {
    const entry = tar.entry({ name: `var/lib/dpkg/status.d/pkg${f}`, size: 60 * MiB, mode: 0o644, mtime: new Date(0) });
    for (let i = 0; i < 60; i += 1) {
      if (!entry.write(chunk)) await new Promise<void>((r) => entry.once('drain', () => r()));
    }
    await new Promise<void>((resolve, reject) => entry.end((err?: Error | null) => (err ? reject(err) : resolve())));
  }
  tar.finalize();
  await done;
  return Buffer.concat(out);
}


/** A process's resident and peak memory in bytes (VmRSS, VmHWM of /proc/<pid>/status). */
export function processMemory(pid: number): { rss: number; peak: number } {
  const status = readFileSync(`/proc/${pid}/status`, 'utf8');
  const kb = (field: string): number => Number(new RegExp(`${field}:\\s+(\\d+) kB`).exec(status)?.[1] ?? NaN) * 1024;
  return { rss: kb('VmRSS'), peak: kb('VmHWM') };
}

/**
 * The configuration of a service spawned against the harness's Redis, registries and proxy for
 * the hostile-input tests: a tokens file with `token-dev` (developer of payments) and
 * `token-auditor`, the builtin scanner on the private OSV data, short job locks, onFail reject.
 */
export async function hostileServiceConfig(name: string, level: 'info' | 'warn'): Promise<{ config: Record<string, unknown>; port: number }> {
  const svc = services();
  const tokensFile = path.join(tempDir(name), 'tokens.yaml');
  writeFileSync(tokensFile, YAML.stringify({ principals: [
    { name: 'dev', roles: ['developer'], teams: ['payments'], tokenSha256: sha256Hex('token-dev') },
    { name: 'auditor', roles: ['auditor'], teams: [], tokenSha256: sha256Hex('token-auditor') },
  ] }));
  const port = await freePort();
  return {
    port,
    config: {
      server: { host: '127.0.0.1', port },
      redis: { url: svc.redis.url, prefix: uniqueName(name) },
      internalRegistry: { url: svc.internal.url },
      upstreams: [{ registry: svc.upstream.host, endpoint: svc.proxy.url }],
      auth: { tokensFile },
      worker: { lockDurationMs: 5000, stalledIntervalMs: 1000 },
      scanners: [{ name: 'builtin', type: 'builtin', osvPath: privateOsvDb() }],
      policy: { onFail: 'reject' },
      log: { level },
    },
  };
}
