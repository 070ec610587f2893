/**
 * Cancelling upload sessions on the real docker-registry (issue 8.6 follow-up), and what its
 * answers mean. A session that took no bytes, or only the bytes its `_state` token covers, is
 * cancelled (`DELETE` on its URL): afterwards `/v2/<name>/blobs/uploads/<uuid>` answers 404
 * BLOB_UPLOAD_UNKNOWN and its folder is gone. A session holding bytes of an upload cut short
 * (a process killed mid-PATCH) answers 404 too, but BLOB_UPLOAD_INVALID, and stays on disk:
 * "404 after the DELETE" proves nothing, so the client tells the two apart (`refused`), and the
 * cleanup logs such sessions instead of claiming them cancelled.
 */
import { existsSync } from 'node:fs';
import http from 'node:http';
import path from 'node:path';
import { cancelAbandonedUploads } from '../../../src/registry/upload-cleanup';
import { DistributionClient } from '../../../src/registry/client';
import { startRegistry, type RegistryService } from '../../harness/registry';
import { uniqueName } from '../../harness/services';

async function open(registry: RegistryService, repo: string): Promise<URL> {
  const res = await fetch(`${registry.url}/v2/${repo}/blobs/uploads/`, { method: 'POST' });
  expect(res.status).toBe(202);
  return new URL(res.headers.get('location')!, registry.url);
}

/** Sends `sent` of `declared` bytes in a PATCH, then drops the connection, as a killed process would. */
async function patchCutShort(location: URL, sent: number, declared: number): Promise<void> {
  await new Promise<void>((resolve) => {
    const req = http.request(location, { method: 'PATCH', headers: { 'content-type': 'application/octet-stream', 'content-length': String(declared) } });
    req.on('error', () => resolve());
    req.write(Buffer.alloc(sent, 7), () => setTimeout(() => { req.destroy(); resolve(); }, 300));
  });
}

async function status(location: URL): Promise<{ status: number; codes: string[] }> {
  const res = await fetch(location);
  const body = (await res.json().catch(() => ({}))) as { errors?: Array<{ code: string }> };
  return { status: res.status, codes: (body.errors ?? []).map((e) => e.code) };
}

describe('cancelling upload sessions on docker-registry', () => {
  let registry: RegistryService;
  let client: DistributionClient;
  const repo = uniqueName('cancel');
  const folder = (location: URL): string => path.join(registry.storageDir, 'docker/registry/v2/repositories', repo, '_uploads', path.basename(location.pathname), 'startedat');

  beforeAll(async () => {
    registry = await startRegistry({ name: 'upload-cancel-registry' });
    client = new DistributionClient({ url: registry.url });
  });
  afterAll(async () => {
    client.close();
    await registry.stop();
  });

  it('cancels a session its token covers: 404 BLOB_UPLOAD_UNKNOWN afterwards, nothing on disk', async () => {
    const empty = await open(registry, repo);
    // Bytes the token covers: the Location of the PATCH's answer carries the new offset.
    const started = await open(registry, repo);
    const patched = await fetch(started, { method: 'PATCH', headers: { 'content-type': 'application/octet-stream' }, body: Buffer.alloc(4096, 1) });
    expect(patched.status).toBe(202);
    const current = new URL(patched.headers.get('location')!, registry.url);
    for (const location of [empty, current]) {
      expect(existsSync(folder(location))).toBe(true);
      expect(await client.cancelUpload(repo, location)).toBe('cancelled');
      expect(await status(location)).toEqual({ status: 404, codes: ['BLOB_UPLOAD_UNKNOWN'] });
      expect(existsSync(folder(location))).toBe(false);
      expect(await client.cancelUpload(repo, location)).toBe('unknown');
    }
  });

  it('says `refused` for a session holding bytes of an upload cut short, which stays; the cleanup does not count it', async () => {
    const location = await open(registry, repo);
    await patchCutShort(location, 64 * 1024, 1024 * 1024);
    expect(await client.cancelUpload(repo, location)).toBe('refused');
    // 404 as well, yet the session and its bytes are still there.
    expect(await status(location)).toEqual({ status: 404, codes: ['BLOB_UPLOAD_INVALID'] });
    expect(existsSync(folder(location))).toBe(true);

    const forgotten: string[] = [];
    const empty = await open(registry, repo);
    const journal = { abandoned: async () => [location, empty].map((l) => ({ repository: repo, location: l, forget: async () => { forgotten.push(l.pathname); } })) };
    const warned: unknown[] = [];
    const logger = { info: () => undefined, warn: (o: unknown) => { warned.push(o); } } as unknown as Parameters<typeof cancelAbandonedUploads>[2];
    expect(await cancelAbandonedUploads(journal, client, logger)).toBe(1);
    expect(forgotten.sort()).toEqual([location.pathname, empty.pathname].sort());
    expect(warned).toEqual([{ 'upload.sessions': [location.pathname] }]);
  });
});
