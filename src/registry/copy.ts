/**
 * The copy engine: moves an image or an index from one registry to another byte for byte.
 * Order (distribution-spec "Pushing Manifests": what a manifest refers to must exist first):
 * blobs in parallel, then child manifests by digest, then the root under its tag, last, so
 * a failure anywhere (a DIGEST_MISMATCH included) leaves nothing tagged. Each blob is
 * retried on its own, so a failure late in a big image does not restart it.
 */
import { pipeline, Transform, type TransformCallback } from 'node:stream';
import type { Logger } from '../lib/logger';
import { planCopy, type CopyPlan } from './copy-plan';
import { safeUrl } from './errors';
import type { CopyOptions, CopyProgress, CopyResult } from './mover';
import { withRetry, type RetryPolicy } from './retry';
import type { Descriptor, PutManifestOptions, RegistryClient, RegistryWriter } from './types';

/** The source of a copy: a repository and a tag or digest on a registry. */
export interface CopySource {
  client: RegistryClient;
  repository: string;
  /** Tag or digest. */
  reference: string;
}

/** The destination: the root is written under `tag`, or only by digest when there is none. */
export interface CopyTarget {
  client: RegistryWriter;
  repository: string;
  tag?: string;
}

class Counter extends Transform {
  constructor(private readonly onBytes: (n: number) => void) {
    super();
  }

  override _transform(chunk: Buffer, _enc: BufferEncoding, cb: TransformCallback): void {
    this.onBytes(chunk.length);
    cb(null, chunk);
  }
}

/** Runs `work` over `items` with at most `jobs` at once; stops taking items after the first failure. */
async function runPool<T>(items: T[], jobs: number, work: (item: T) => Promise<void>, onFail: () => void): Promise<void> {
  let next = 0;
  let failure: { err: unknown } | undefined;
  const worker = async () => {
    while (!failure && next < items.length) {
      const item = items[next++];
      try {
        await work(item);
      } catch (err) {
        if (!failure) {
          failure = { err };
          onFail();
        }
      }
    }
  };
  await Promise.all(Array.from({ length: Math.min(jobs, items.length) }, worker));
  if (failure) throw failure.err;
}

export async function copyImage(src: CopySource, dst: CopyTarget, opts: CopyOptions = {}, logger?: Logger): Promise<CopyResult> {
  const abort = new AbortController();
  const onOuterAbort = () => abort.abort(opts.signal?.reason);
  opts.signal?.addEventListener('abort', onOuterAbort, { once: true });
  const progress: CopyProgress = { bytesDone: 0, bytesTotal: 0, blobsDone: 0, blobsTotal: 0, blobsSkipped: 0, phase: 'manifest' };
  const emit = (phase: CopyProgress['phase'], digest?: string) => opts.onProgress?.({ ...progress, phase, digest });
  const policy = (what: string): RetryPolicy => ({
    retries: opts.retries ?? 5,
    baseMs: opts.retryBaseMs ?? 500,
    signal: abort.signal,
    onRetry: (err, attempt, delayMs) => {
      logger?.warn({ err, attempt, delayMs, what }, 'registry: temporary failure, retrying');
      emit('retry');
    },
  });
  const retried = <T>(what: string, fn: () => Promise<T>) => withRetry(fn, policy(what));
  try {
    const plan = await planCopy(src.client, src.repository, src.reference, opts, retried);
    progress.blobsTotal = plan.blobs.length;
    progress.bytesTotal = plan.blobs.reduce((n, b) => n + b.size, 0);
    emit('manifest');
    const sameRegistry = src.client.url === dst.client.url;
    const copyBlob = async (blob: Descriptor) => {
      let sent = 0;
      await retried(`blob ${blob.digest}`, async () => {
        progress.bytesDone -= sent;
        sent = 0;
        const present = await dst.client.headBlob(dst.repository, blob.digest);
        if (present && (present.size === blob.size || present.size < 0)) return skip(blob);
        if (sameRegistry && src.repository !== dst.repository && (await dst.client.mountBlob(dst.repository, blob.digest, src.repository))) return skip(blob);
        // The destination may keep the blob for the read that follows (the scan of a staged
        // image): the source's read copies it as it verifies it, so it is hashed once, here.
        const copy = dst.client.reserveCopy?.(dst.repository, blob.digest, blob.size) ?? null;
        try {
          const body = await src.client.getBlob(src.repository, blob.digest, blob.size, copy ? { copyInto: copy } : undefined);
          const counted = new Counter((n) => { sent += n; progress.bytesDone += n; emit('blob', blob.digest); });
          // pipeline, not pipe: an upload that fails must also close the source response.
          pipeline(body, counted, () => undefined);
          await dst.client.uploadBlob(dst.repository, blob.digest, blob.size, counted, { signal: abort.signal, copy });
        } finally {
          copy?.release();
        }
        progress.blobsDone++;
        emit('blob-done', blob.digest);
      });
    };
    const skip = (blob: Descriptor) => {
      progress.bytesDone += blob.size;
      progress.blobsDone++;
      progress.blobsSkipped++;
      emit('blob-done', blob.digest);
    };
    await runPool(plan.blobs, Math.max(1, opts.jobs ?? 4), copyBlob, () => abort.abort(new Error('copy failed')));
    return await writeManifests(plan, dst, retried, emit, { keep: opts.keepManifests === true });
  } catch (err) {
    if (!abort.signal.aborted) abort.abort(err);
    logger?.error({ err, src: `${safeUrl(src.client.url)} ${src.repository}:${src.reference}` }, 'registry: copy failed');
    throw err;
  } finally {
    opts.signal?.removeEventListener('abort', onOuterAbort);
  }
}

async function writeManifests(
  plan: CopyPlan, dst: CopyTarget, retried: <T>(what: string, fn: () => Promise<T>) => Promise<T>,
  emit: (phase: CopyProgress['phase'], digest?: string) => void, put: PutManifestOptions,
): Promise<CopyResult> {
  const root = plan.manifests[plan.manifests.length - 1];
  for (const m of plan.manifests.slice(0, -1)) {
    await retried(`manifest ${m.digest}`, () => dst.client.putManifest(dst.repository, m.digest, m.body, m.mediaType, put));
    emit('manifest', m.digest);
  }
  emit('tag', root.digest);
  const digest = await retried(`manifest ${root.digest}`, () => dst.client.putManifest(dst.repository, dst.tag ?? root.digest, root.body, root.mediaType, put));
  const images = plan.manifests.filter((m) => m.kind === 'image');
  emit('done', digest);
  return {
    digest,
    mediaType: root.mediaType,
    size: root.body.length,
    sourceDigest: plan.sourceDigest,
    platforms: images.map((m) => ({ platform: m.platform, sourceDigest: m.sourceDigest, digest: m.digest })),
    mapping: plan.mapping,
  };
}
