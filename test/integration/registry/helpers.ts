/** Shared helpers of the registry integration tests. */
import { execFile } from 'node:child_process';
import { createHash } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { promisify } from 'node:util';
import { parseConfig, type Config } from '../../../src/lib/config';

const run = promisify(execFile);

/** sha256 of the manifest skopeo reads, independently of the code under test. */
export async function skopeoDigest(host: string, repoAndRef: string): Promise<string> {
  const { stdout } = await run('skopeo', ['inspect', '--tls-verify=false', '--raw', `docker://${host}/${repoAndRef}`], { encoding: 'buffer', maxBuffer: 8 << 20 });
  return `sha256:${createHash('sha256').update(stdout).digest('hex')}`;
}

/** skopeo's own resolution of a single image (its `Digest` and `Layers`). */
export async function skopeoInspect(host: string, repoAndRef: string): Promise<{ Digest: string; Layers: string[] }> {
  const { stdout } = await run('skopeo', ['inspect', '--tls-verify=false', `docker://${host}/${repoAndRef}`], { maxBuffer: 8 << 20 });
  return JSON.parse(stdout) as { Digest: string; Layers: string[] };
}

/** A validated config with the given upstreams and internal registry. */
export function testConfig(internalUrl: string, upstreams: Array<Record<string, unknown>>): Config {
  return parseConfig({ internalRegistry: { url: internalUrl }, upstreams });
}

export function accessLog(file: string): string[] {
  try {
    return readFileSync(file, 'utf8').split('\n').filter(Boolean);
  } catch {
    return [];
  }
}

export async function rejection(p: Promise<unknown>): Promise<{ code?: string; message: string }> {
  try {
    await p;
  } catch (err) {
    return err as { code?: string; message: string };
  }
  throw new Error('expected a rejection');
}
