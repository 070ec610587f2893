/**
 * The engine mover: pull, tag and push through a Docker Engine API (Docker, or Podman's
 * compatible service) with dockerode, for sites whose only way out is a Docker daemon.
 *
 * An engine does not copy bytes: it unpacks layers into its own storage and compresses them
 * again on push, so the destination usually serves a different manifest digest from the
 * source's. This mover therefore returns the digest it pushed, checked with a HEAD on the
 * destination, and the pipeline must scan and approve that digest, never the source's. See
 * docs/engine-mover.md for the trade-off, and engine-staging.ts for how a tagless (quarantine)
 * destination stays untagged although an engine can only push tags.
 */
import type Dockerode from 'dockerode';
import { AppError } from '../../lib/errors';
import type { Logger } from '../../lib/logger';
import type { CopyOptions, CopyProgress, CopyResult, Mover } from '../mover';
import { formatReference, type ImageRef } from '../reference';
import type { Platform } from '../types';
import { copyOutOfStaging, DEFAULT_STAGING_PREFIX, deleteStaging, pushTarget, type DestinationClient } from './engine-staging';
import { engineError, pulledDigest, pushedDigest, readEngineStream, type EngineEvent } from './engine-stream';

export type { DestinationClient } from './engine-staging';

/** Credentials the engine sends to one registry (as `X-Registry-Auth`). */
export interface EngineCredentials {
  username: string;
  password: string;
}

/** Options of {@link EngineMover}. */
export interface EngineMoverOptions {
  /** The engine, e.g. `new Dockerode({ socketPath: '/var/run/docker.sock' })`. */
  docker: Dockerode;
  /**
   * The client that verifies the pushed digest at the destination, per registry host. The
   * mover trusts the engine's word only after the registry confirms it; it also deletes the
   * staging manifest of a tagless copy.
   */
  destination: (registry: string) => DestinationClient;
  /**
   * A byte-for-byte mover (`preservesDigest`, the registry mover) that copies a staged image by
   * digest into a tagless destination, so that the destination never holds a tag.
   */
  copier: Mover;
  /**
   * Repository prefix of the per-copy staging repositories (`<prefix>/<12 hex>`) of tagless
   * destinations. Put it where the registry's access rules hide quarantine.
   * @defaultValue 'portcullis-engine-staging'
   */
  stagingPrefix?: string;
  /** Credentials per registry host (from config `upstreams` and `internalRegistry`). */
  credentials?: (registry: string) => EngineCredentials | undefined;
  /**
   * The host the engine pulls `registry` through: the reverse proxy's `host:port` (an upstream's
   * `endpoint` host). The engine has no notion of an endpoint, only of a registry host.
   * @defaultValue the registry itself
   */
  pullHost?: (registry: string) => string;
  logger?: Logger;
}

/** How the engine names an image: `registry/repository`. */
const engineName = (ref: Pick<ImageRef, 'registry' | 'repository'>): string => `${ref.registry}/${ref.repository}`;

function platformString(p: string | Platform): string {
  return typeof p === 'string' ? p : [p.os, p.architecture, p.variant].filter(Boolean).join('/');
}

/** Moves images through a Docker-compatible engine; see the file comment for what it cannot keep. */
export class EngineMover implements Mover {
  readonly name = 'engine';
  readonly preservesDigest = false;
  private readonly docker: Dockerode;
  private readonly opts: EngineMoverOptions;

  constructor(opts: EngineMoverOptions) {
    // A copier that rewrote bytes would put yet another digest into quarantine, unverified.
    if (!opts.copier.preservesDigest) throw new AppError('CONFIG_INVALID', `the engine mover's copier must preserve digests (${opts.copier.name} does not)`);
    this.docker = opts.docker;
    this.opts = opts;
  }

  /**
   * Pulls `src` into the engine, tags it as `dst`, pushes, verifies at the destination and
   * removes the names it added from the engine. An index comes out as one image: the engine
   * pulls a single platform (its own, or `opts.platforms[0]`).
   *
   * `dst` without a tag (a quarantine reference) is pushed under a generated tag into a fresh
   * staging repository (an engine can only push tags), copied from there by digest with
   * `copier`, and the staging manifest is deleted: the destination never holds a tag.
   * @throws AppError REGISTRY_ERROR / REGISTRY_AUTH_FAILED from the engine, DIGEST_MISMATCH when
   *   the destination serves another digest, DEPENDENCY_UNAVAILABLE when the engine is down.
   */
  async copy(src: ImageRef, dst: ImageRef, opts: CopyOptions = {}): Promise<CopyResult> {
    if (opts.writeIndex || (opts.platforms && opts.platforms.length > 1)) {
      throw new AppError('INVALID_REQUEST', 'the engine mover copies exactly one platform; use the registry mover for indexes');
    }
    const platform = opts.platforms?.[0] === undefined ? undefined : platformString(opts.platforms[0]);
    const srcCreds = this.opts.credentials?.(src.registry);
    const dstCreds = this.opts.credentials?.(dst.registry);
    const secrets = [srcCreds?.password, dstCreds?.password];
    const pullFrom: ImageRef = { ...src, registry: this.opts.pullHost?.(src.registry) ?? src.registry };
    // A digest wins over a tag, as in `docker pull name:tag@digest`.
    const srcLocal = src.digest ? `${engineName(pullFrom)}@${src.digest}` : `${engineName(pullFrom)}:${src.tag ?? 'latest'}`;
    const target = pushTarget(dst, this.opts.stagingPrefix ?? DEFAULT_STAGING_PREFIX);
    const dstTag = target.ref.tag;
    const dstLocal = `${engineName(target.ref)}:${dstTag}`;
    const log = this.opts.logger?.child({ module: 'engine-mover' });
    const progress = progressReporter(opts.onProgress);

    // An image the engine already had (an operator's, another job's) is not ours to delete.
    const hadSource = await this.exists(srcLocal);
    let tagged = false;
    let pushStarted = false;
    try {
      progress('manifest');
      const pullEvents = await this.pull(pullFrom, srcLocal, platform, srcCreds, opts.signal, progress)
        .catch((err: unknown) => { throw engineError(err, `engine pull of ${formatReference(src)}`, secrets); });
      const sourceDigest = src.digest ?? pulledDigest(pullEvents) ?? (await this.repoDigest(srcLocal, engineName(pullFrom)));
      if (opts.signal?.aborted) throw new AppError('REGISTRY_ERROR', 'copy aborted before tagging');

      progress('tag');
      await this.docker.getImage(srcLocal).tag({ repo: engineName(target.ref), tag: dstTag })
        .catch((err: unknown) => { throw engineError(err, `engine tag ${dstLocal}`, secrets); });
      tagged = true;

      pushStarted = true;
      const pushEvents = await this.push(target.ref, dstTag, dstCreds, opts.signal, progress)
        .catch((err: unknown) => { throw engineError(err, `engine push of ${dstLocal}`, secrets); });
      const pushed = pushedDigest(pushEvents);
      if (!pushed) throw new AppError('REGISTRY_ERROR', `engine push of ${dstLocal}: the engine did not report a digest`);

      const atPush = await this.verify(target.ref, dst, pushed.digest);
      const served = target.staged
        ? await copyOutOfStaging(this.opts.copier, this.opts.destination(dst.registry), target.ref, dst, pushed.digest, { signal: opts.signal, keepManifests: opts.keepManifests })
        : atPush;
      log?.info({ event: { action: 'engine-copy' }, source: formatReference(src), destination: engineName(dst), pushedAs: dstLocal,
        sourceDigest, digest: served.digest, recompressed: served.digest !== sourceDigest }, 'engine copy done');
      progress('done');
      return {
        digest: served.digest,
        mediaType: served.mediaType,
        size: served.size,
        sourceDigest,
        platforms: [{ sourceDigest, digest: served.digest }],
        mapping: served.digest === sourceDigest ? {} : { [sourceDigest]: served.digest },
      };
    } finally {
      await this.cleanup(tagged ? dstLocal : undefined, hadSource ? undefined : srcLocal, log);
      if (target.staged && pushStarted) await deleteStaging(this.opts.destination(dst.registry), target.ref, log);
    }
  }

  private async pull(from: ImageRef, local: string, platform: string | undefined, creds: EngineCredentials | undefined,
    signal: AbortSignal | undefined, progress: ProgressFn): Promise<EngineEvent[]> {
    const [fromImage, tag] = from.digest ? [engineName(from), from.digest] : [engineName(from), from.tag ?? 'latest'];
    const stream = await this.docker.createImage(authConfig(creds, from.registry), {
      fromImage, tag, ...(platform ? { platform } : {}), abortSignal: signal,
    });
    this.opts.logger?.debug({ image: local }, 'engine pull started');
    return readEngineStream(stream, (e) => progress('blob', e));
  }

  private async push(dst: ImageRef, tag: string, creds: EngineCredentials | undefined,
    signal: AbortSignal | undefined, progress: ProgressFn): Promise<EngineEvent[]> {
    const stream = await this.docker.getImage(engineName(dst)).push({
      tag, authconfig: authConfig(creds, dst.registry), abortSignal: signal,
    } as Dockerode.ImagePushOptions);
    return readEngineStream(stream, (e) => progress('blob', e));
  }

  /** The registry, not the engine, has the last word on what the pushed tag now is. */
  private async verify(pushedTo: ImageRef & { tag: string }, dst: ImageRef, pushed: string): Promise<{ digest: string; mediaType: string; size: number }> {
    const { tag } = pushedTo;
    const head = await this.opts.destination(pushedTo.registry).headManifest(pushedTo.repository, tag);
    if (!head) throw new AppError('REGISTRY_ERROR', `${engineName(pushedTo)}:${tag} is not served after the engine pushed it`);
    if (head.digest !== pushed) {
      throw new AppError('DIGEST_MISMATCH', `${engineName(pushedTo)}:${tag}: the engine pushed ${pushed} but the registry serves ${head.digest}`);
    }
    if (dst.digest && dst.digest !== pushed) {
      throw new AppError('DIGEST_MISMATCH', `${engineName(dst)}: asked for ${dst.digest}, the engine pushed ${pushed} (engines recompress; use a tag)`);
    }
    return head;
  }

  private async exists(name: string): Promise<boolean> {
    try {
      await this.docker.getImage(name).inspect();
      return true;
    } catch (err) {
      if ((err as { statusCode?: number }).statusCode === 404) return false;
      throw engineError(err, `engine inspect ${name}`, []);
    }
  }

  /** Podman's pull stream has no `Digest:` line: the engine's RepoDigests for the repository has it. */
  private async repoDigest(local: string, name: string): Promise<string> {
    const info = await this.docker.getImage(local).inspect().catch((err: unknown) => { throw engineError(err, `engine inspect ${local}`, []); });
    const entry = (info.RepoDigests ?? []).find((d) => d.startsWith(`${name}@`));
    if (!entry) throw new AppError('REGISTRY_ERROR', `engine did not record the digest it pulled for ${local}`);
    return entry.slice(name.length + 1);
  }

  /**
   * Removes the names this copy added, so the engine's disk does not fill up. Untagging (no
   * force) deletes the image only when no other name holds it: a concurrent copy of the same
   * image, or an image an operator pulled, stays.
   */
  private async cleanup(dstLocal: string | undefined, srcLocal: string | undefined, log: Logger | undefined): Promise<void> {
    for (const name of [dstLocal, srcLocal]) {
      if (!name) continue;
      await this.docker.getImage(name).remove({ noprune: false })
        .catch((err: unknown) => {
          if ((err as { statusCode?: number }).statusCode === 404) return;
          // Cleanup failing must not hide the copy's own result or error.
          log?.warn({ image: name, err: engineError(err, 'engine cleanup', []) }, 'engine image not removed');
        });
    }
  }
}

/** Docker's X-Registry-Auth; anonymous when no credentials are configured. */
function authConfig(creds: EngineCredentials | undefined, serveraddress: string): Dockerode.AuthConfig {
  return creds ? { username: creds.username, password: creds.password, serveraddress } : { serveraddress };
}

type ProgressFn = (phase: CopyProgress['phase'], e?: EngineEvent) => void;

/**
 * Engine progress lines carry per-layer byte counts (`progressDetail`) under a short layer id,
 * not a digest: this keeps the latest count per id and reports the sums.
 */
function progressReporter(onProgress: CopyOptions['onProgress']): ProgressFn {
  const layers = new Map<string, { current: number; total: number; done: boolean; skipped: boolean }>();
  return (phase, e) => {
    if (!onProgress) return;
    if (e?.id && e.progressDetail) {
      const l = layers.get(e.id) ?? { current: 0, total: 0, done: false, skipped: false };
      l.current = e.progressDetail.current ?? l.current;
      l.total = e.progressDetail.total ?? l.total;
      l.skipped ||= /already exists/i.test(e.status ?? '');
      l.done ||= l.skipped || /complete|pushed/i.test(e.status ?? '');
      layers.set(e.id, l);
    }
    let bytesDone = 0;
    let bytesTotal = 0;
    let blobsDone = 0;
    let blobsSkipped = 0;
    for (const l of layers.values()) {
      bytesDone += l.current;
      bytesTotal += l.total;
      if (l.done) blobsDone++;
      if (l.skipped) blobsSkipped++;
    }
    onProgress({ phase, bytesDone, bytesTotal, blobsDone, blobsTotal: layers.size, blobsSkipped });
  };
}
