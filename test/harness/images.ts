/**
 * Builds small OCI / Docker images from files described in a test and pushes them to a
 * registry with plain HTTP calls (not through the code under test), so that a test's
 * fixture cannot share a bug with what it tests.
 */
import { execFileSync } from 'node:child_process';
import { createHash, randomBytes } from 'node:crypto';
import { gzipSync } from 'node:zlib';
import { pack } from 'tar-stream';

export type FileSpec =
  | string
  | Buffer
  | { content?: string | Buffer; mode?: number; type?: 'file' | 'directory' | 'symlink' | 'link'; linkname?: string; uid?: number };

export interface LayerSpec {
  /** Path → content (or entry spec). Paths are relative (no leading slash). */
  files: Record<string, FileSpec>;
  /** Store the layer uncompressed (media type `…tar`) instead of gzip. */
  uncompressed?: boolean;
  /** Raw layer bytes, used as they are (e.g. a hostile layer). */
  raw?: Buffer;
  /** Compress with the real `zstd` tool (media type `…tar+zstd`, OCI only) instead of gzip. */
  zstd?: boolean;
}

export interface ImageSpec {
  layers: LayerSpec[];
  /** Merged into the config's `config` (User, Env, Cmd, …). */
  config?: Record<string, unknown>;
  history?: Array<{ created_by?: string; empty_layer?: boolean }>;
  architecture?: string;
  os?: string;
  variant?: string;
  /** `oci` (default) or `docker` (schema 2) media types. */
  format?: 'oci' | 'docker';
}

export interface Blob {
  digest: string;
  size: number;
  mediaType: string;
  data: Buffer;
}

export interface BuiltImage {
  digest: string;
  mediaType: string;
  manifest: Buffer;
  config: Blob;
  layers: Blob[];
  platform: { os: string; architecture: string; variant?: string };
}

export interface BuiltIndex {
  digest: string;
  mediaType: string;
  manifest: Buffer;
  images: BuiltImage[];
}

export function sha256(data: Buffer | string): string {
  return `sha256:${createHash('sha256').update(data).digest('hex')}`;
}

export async function tarOf(files: Record<string, FileSpec>): Promise<Buffer> {
  const p = pack();
  const chunks: Buffer[] = [];
  p.on('data', (c: unknown) => { chunks.push(c as Buffer); });
  const done = new Promise<void>((resolve, reject) => { p.on('end', resolve); p.on('error', reject); });
  for (const [name, spec] of Object.entries(files)) {
    const s = typeof spec === 'string' || Buffer.isBuffer(spec) ? { content: spec } : spec;
    const type = s.type ?? 'file';
    const content = s.content === undefined ? Buffer.alloc(0) : Buffer.from(s.content);
    const header = {
      name, type, mode: s.mode ?? (type === 'directory' ? 0o755 : 0o644), uid: s.uid ?? 0, gid: 0,
      mtime: new Date(0), linkname: s.linkname, size: type === 'file' ? content.length : 0,
    };
    await new Promise<void>((resolve, reject) => {
      const cb = (err?: Error | null) => (err ? reject(err) : resolve());
      if (type === 'file') p.entry(header, content, cb);
      else p.entry(header, cb);
    });
  }
  p.finalize();
  await done;
  return Buffer.concat(chunks);
}

function blob(data: Buffer, mediaType: string): Blob {
  return { digest: sha256(data), size: data.length, mediaType, data };
}

export async function buildImage(spec: ImageSpec): Promise<BuiltImage> {
  const docker = spec.format === 'docker';
  const diffIds: string[] = [];
  const layers: Blob[] = [];
  for (const l of spec.layers) {
    const tar = l.raw ?? (await tarOf(l.files));
    if (l.zstd && !l.raw) {
      diffIds.push(sha256(tar));
      layers.push(blob(execFileSync('zstd', ['-q', '-c', '-19'], { input: tar, maxBuffer: 1024 * 1024 * 1024 }), 'application/vnd.oci.image.layer.v1.tar+zstd'));
      continue;
    }
    const gzip = !l.uncompressed;
    const data = l.raw ?? (gzip ? gzipSync(tar, { level: 1 }) : tar);
    // A raw (possibly hostile) layer is never decompressed here: its diff_id is its own digest.
    diffIds.push(sha256(tar));
    const type = gzip ? (docker ? 'application/vnd.docker.image.rootfs.diff.tar.gzip' : 'application/vnd.oci.image.layer.v1.tar+gzip')
      : (docker ? 'application/vnd.docker.image.rootfs.diff.tar' : 'application/vnd.oci.image.layer.v1.tar');
    layers.push(blob(data, type));
  }
  const platform = { os: spec.os ?? 'linux', architecture: spec.architecture ?? 'amd64', ...(spec.variant ? { variant: spec.variant } : {}) };
  const configJson = {
    created: '2024-01-01T00:00:00Z',
    ...platform,
    config: { Env: ['PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin'], ...spec.config },
    rootfs: { type: 'layers', diff_ids: diffIds },
    history: spec.history ?? spec.layers.map((_, i) => ({ created: '2024-01-01T00:00:00Z', created_by: `layer ${i}` })),
  };
  const config = blob(Buffer.from(JSON.stringify(configJson)),
    docker ? 'application/vnd.docker.container.image.v1+json' : 'application/vnd.oci.image.config.v1+json');
  const mediaType = docker ? 'application/vnd.docker.distribution.manifest.v2+json' : 'application/vnd.oci.image.manifest.v1+json';
  const manifest = Buffer.from(JSON.stringify({
    schemaVersion: 2,
    mediaType,
    config: { mediaType: config.mediaType, digest: config.digest, size: config.size },
    layers: layers.map((l) => ({ mediaType: l.mediaType, digest: l.digest, size: l.size })),
  }, null, 2));
  return { digest: sha256(manifest), mediaType, manifest, config, layers, platform };
}

export function buildIndex(images: BuiltImage[], format: 'oci' | 'docker' = 'oci'): BuiltIndex {
  const mediaType = format === 'docker'
    ? 'application/vnd.docker.distribution.manifest.list.v2+json'
    : 'application/vnd.oci.image.index.v1+json';
  const manifest = Buffer.from(JSON.stringify({
    schemaVersion: 2,
    mediaType,
    manifests: images.map((img) => ({ mediaType: img.mediaType, digest: img.digest, size: img.manifest.length, platform: img.platform })),
  }, null, 2));
  return { digest: sha256(manifest), mediaType, manifest, images };
}

/**
 * A BuildKit attestation manifest for `subject` (docs.docker.com "Image attestation storage"):
 * an OCI image manifest, platform `unknown/unknown`, one `application/vnd.in-toto+json` layer
 * holding an in-toto statement about the subject. `layerType` and `platform` can be changed to
 * make hostile look-alikes.
 */
export function buildAttestation(
  subject: BuiltImage,
  options: { layerType?: string; platform?: { os: string; architecture: string } } = {},
): BuiltImage {
  const statement = Buffer.from(JSON.stringify({
    _type: 'https://in-toto.io/Statement/v0.1', predicateType: 'https://slsa.dev/provenance/v0.2',
    subject: [{ name: 'image', digest: { sha256: subject.digest.slice('sha256:'.length) } }], predicate: {},
  }));
  const layer = blob(statement, options.layerType ?? 'application/vnd.in-toto+json');
  const platform = options.platform ?? { os: 'unknown', architecture: 'unknown' };
  const config = blob(Buffer.from(JSON.stringify({ ...platform, config: {}, rootfs: { type: 'layers', diff_ids: [layer.digest] } })), 'application/vnd.oci.image.config.v1+json');
  const mediaType = 'application/vnd.oci.image.manifest.v1+json';
  const manifest = Buffer.from(JSON.stringify({
    schemaVersion: 2, mediaType,
    config: { mediaType: config.mediaType, digest: config.digest, size: config.size },
    layers: [{ mediaType: layer.mediaType, digest: layer.digest, size: layer.size, annotations: { 'in-toto.io/predicate-type': 'https://slsa.dev/provenance/v0.2' } }],
  }));
  return { digest: sha256(manifest), mediaType, manifest, config, layers: [layer], platform };
}

/** The index entry BuildKit writes for an attestation of `subject`. */
export function attestationEntry(att: BuiltImage, subject: BuiltImage): object {
  return {
    mediaType: att.mediaType, digest: att.digest, size: att.manifest.length, platform: att.platform,
    annotations: { 'vnd.docker.reference.type': 'attestation-manifest', 'vnd.docker.reference.digest': subject.digest },
  };
}

/** An index with hand-written entries (annotations, media types, repeats that buildIndex does not write). */
export function customIndex(manifests: object[], images: BuiltImage[]): BuiltIndex {
  const mediaType = 'application/vnd.oci.image.index.v1+json';
  const manifest = Buffer.from(JSON.stringify({ schemaVersion: 2, mediaType, manifests }));
  return { digest: sha256(manifest), mediaType, manifest, images };
}

export interface PushAuth {
  username: string;
  password: string;
}

function headers(auth?: PushAuth, extra: Record<string, string> = {}): Record<string, string> {
  return auth ? { ...extra, authorization: `Basic ${Buffer.from(`${auth.username}:${auth.password}`).toString('base64')}` } : extra;
}

async function check(res: Response, what: string): Promise<void> {
  if (!res.ok) throw new Error(`${what}: HTTP ${res.status} ${await res.text()}`);
  await res.arrayBuffer();
}

export async function pushBlob(registryUrl: string, repo: string, b: { digest: string; data: Buffer }, auth?: PushAuth): Promise<void> {
  const head = await fetch(`${registryUrl}/v2/${repo}/blobs/${b.digest}`, { method: 'HEAD', headers: headers(auth) });
  if (head.ok) return;
  const start = await fetch(`${registryUrl}/v2/${repo}/blobs/uploads/`, { method: 'POST', headers: headers(auth) });
  await check(start, `start upload ${repo}`);
  const location = new URL(start.headers.get('location') ?? '', registryUrl);
  location.searchParams.set('digest', b.digest);
  const put = await fetch(location, {
    method: 'PUT', body: b.data,
    headers: headers(auth, { 'content-type': 'application/octet-stream', 'content-length': String(b.data.length) }),
  });
  await check(put, `put blob ${b.digest}`);
}

export async function pushManifest(registryUrl: string, repo: string, ref: string, body: Buffer, mediaType: string, auth?: PushAuth): Promise<void> {
  const res = await fetch(`${registryUrl}/v2/${repo}/manifests/${ref}`, {
    method: 'PUT', body, headers: headers(auth, { 'content-type': mediaType }),
  });
  await check(res, `put manifest ${repo}:${ref}`);
}

/** Pushes an image (blobs, then the manifest under `tag`, or by digest when no tag). */
export async function pushImage(registryUrl: string, repo: string, tag: string | undefined, img: BuiltImage, auth?: PushAuth): Promise<void> {
  for (const b of [img.config, ...img.layers]) await pushBlob(registryUrl, repo, b, auth);
  await pushManifest(registryUrl, repo, tag ?? img.digest, img.manifest, img.mediaType, auth);
}

/** Pushes every child by digest, then the index under `tag`. */
export async function pushIndex(registryUrl: string, repo: string, tag: string | undefined, idx: BuiltIndex, auth?: PushAuth): Promise<void> {
  for (const img of idx.images) await pushImage(registryUrl, repo, undefined, img, auth);
  await pushManifest(registryUrl, repo, tag ?? idx.digest, idx.manifest, idx.mediaType, auth);
}

/** Random bytes of a given size (incompressible), for layers whose content does not matter. */
export function randomFile(size: number): Buffer {
  return randomBytes(size);
}
