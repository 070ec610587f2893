/**
 * Blob uploads (distribution-spec "Pushing blobs"): POST to open a session, then either one
 * monolithic PUT `?digest=` streaming the whole blob, or PATCH chunks with `Content-Range`
 * (inclusive byte offsets, in order) of at least `OCI-Chunk-Min-Length` bytes and a closing
 * PUT `?digest=`. Cross-repository mounts: POST `?mount=&from=`; 201 is done, 202 means the
 * registry would not mount (it opened an upload session instead).
 */
import type { Readable } from 'node:stream';
import { repositoryScope } from './auth';
import { RegistryError } from './errors';
import { header, type Session } from './session';
import type { UploadJournal } from './types';

interface UploadSession {
  location: URL;
  /** OCI-Chunk-Min-Length: the smallest chunk the registry accepts (distribution-spec v1.1). */
  minChunk: number;
}

function locationOf(session: Session, res: import('node:http').IncomingMessage, what: string): URL {
  const location = header(res, 'location');
  if (!location) throw new RegistryError('REGISTRY_ERROR', `${what}: no Location in the answer`);
  return new URL(location, session.base);
}

export async function startUpload(session: Session, repository: string, signal?: AbortSignal): Promise<UploadSession> {
  const what = `start upload to ${repository}`;
  const res = await session.must({
    method: 'POST', url: `/v2/${repository}/blobs/uploads/`, scopes: [repositoryScope(repository, 'push')], ok: [202], signal, what,
  });
  res.resume();
  const min = Number(header(res, 'oci-chunk-min-length') ?? 0);
  return { location: locationOf(session, res, what), minChunk: Number.isFinite(min) && min > 0 ? min : 0 };
}

/**
 * What a cancel did: `cancelled` (the registry dropped the session and its data), `unknown` (no
 * such session: already gone), `refused` (the session is still there: docker-registry 2.x
 * answers 404 BLOB_UPLOAD_INVALID, not BLOB_UPLOAD_UNKNOWN, when the session holds bytes its
 * `_state` token does not cover, as a streaming upload cut short by a killed process leaves
 * it; without the registry's secret nobody can make a token that matches, so only its upload
 * purging removes such a session), `failed` (no answer, or another error).
 */
export type CancelOutcome = 'cancelled' | 'unknown' | 'refused' | 'failed';

/** Cancels an upload session (DELETE its URL, distribution-spec); best effort, never throws. */
export async function cancelUpload(session: Session, repository: string, location: URL): Promise<CancelOutcome> {
  try {
    const res = await session.must({ method: 'DELETE', url: location, scopes: [repositoryScope(repository, 'push')], ok: [204, 202, 200], what: 'cancel upload' });
    res.resume();
    return 'cancelled';
  } catch (err) {
    // A 404 alone says nothing: a session that is still there answers 404 too (BLOB_UPLOAD_INVALID).
    if (err instanceof RegistryError && err.hasCode('BLOB_UPLOAD_UNKNOWN')) return 'unknown';
    if (err instanceof RegistryError && err.hasCode('BLOB_UPLOAD_INVALID')) return 'refused';
    return 'failed';
  }
}

export async function mountBlob(session: Session, repository: string, digest: string, from: string): Promise<boolean> {
  const url = new URL(`/v2/${repository}/blobs/uploads/`, session.base);
  url.searchParams.set('mount', digest);
  url.searchParams.set('from', from);
  const what = `mount ${digest} from ${from} into ${repository}`;
  const res = await session.must({
    method: 'POST', url, scopes: [repositoryScope(repository, 'push'), repositoryScope(from, 'pull')], ok: [201, 202], what,
  });
  res.resume();
  if (res.statusCode === 201) return true;
  await cancelUpload(session, repository, locationOf(session, res, what));
  return false;
}

function withDigest(location: URL, digest: string): URL {
  const url = new URL(location.href);
  url.searchParams.set('digest', digest);
  return url;
}

async function putMonolithic(session: Session, repository: string, up: UploadSession, digest: string, size: number, body: Readable, signal?: AbortSignal): Promise<void> {
  const res = await session.must({
    method: 'PUT', url: withDigest(up.location, digest), scopes: [repositoryScope(repository, 'push')], ok: [201],
    headers: { 'content-type': 'application/octet-stream', 'content-length': String(size) }, body, signal, what: `upload ${digest} to ${repository}`,
  });
  res.resume();
}

async function putChunked(session: Session, repository: string, up: UploadSession, digest: string, chunkSize: number, body: Readable, signal?: AbortSignal, journal?: UploadJournal): Promise<UploadSession> {
  const size = Math.max(chunkSize, up.minChunk);
  const scopes = [repositoryScope(repository, 'push')];
  let location = up.location;
  let offset = 0;
  let pending: Buffer[] = [];
  let pendingBytes = 0;
  const flush = async () => {
    const chunk = Buffer.concat(pending, pendingBytes);
    pending = [];
    pendingBytes = 0;
    const res = await session.must({
      method: 'PATCH', url: location, scopes, ok: [202], signal, what: `upload chunk of ${digest} to ${repository}`,
      headers: { 'content-type': 'application/octet-stream', 'content-range': `${offset}-${offset + chunk.length - 1}` }, body: chunk,
    });
    res.resume();
    location = locationOf(session, res, 'upload chunk');
    offset += chunk.length;
    // Distribution checks the `_state` offset on every later call, DELETE included: note the new URL.
    up = { ...up, location };
    await journal?.opened(repository, location);
  };
  for await (const piece of body as AsyncIterable<Buffer>) {
    pending.push(piece);
    pendingBytes += piece.length;
    if (pendingBytes >= size) await flush();
  }
  if (pendingBytes > 0) await flush();
  const res = await session.must({
    method: 'PUT', url: withDigest(location, digest), scopes, ok: [201], signal, what: `complete upload of ${digest} to ${repository}`,
  });
  res.resume();
  return up;
}

/** Uploads a blob; chunked when `chunkSize` is set, else one streaming PUT. */
export async function uploadBlob(
  session: Session, repository: string, digest: string, size: number, body: Readable,
  opts: { chunkSize?: number; signal?: AbortSignal; journal?: UploadJournal } = {},
): Promise<void> {
  let up: UploadSession;
  const { journal } = opts;
  try {
    up = await startUpload(session, repository, opts.signal);
    await journal?.opened(repository, up.location);
  } catch (err) {
    body.destroy();
    throw err;
  }
  let last = up;
  try {
    if (opts.chunkSize) last = await putChunked(session, repository, up, digest, opts.chunkSize, body, opts.signal, journal);
    else await putMonolithic(session, repository, up, digest, size, body, opts.signal);
  } catch (err) {
    body.destroy();
    await cancelUpload(session, repository, last.location);
    await journal?.closed(up.location).catch(() => undefined);
    throw err;
  }
  await journal?.closed(up.location);
}
