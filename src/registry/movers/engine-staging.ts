/**
 * Keeping a tagless destination (a quarantine repository) free of tags when the pusher is an
 * engine, which can only push tags.
 *
 * The Distribution API offers no way to remove just a tag from docker-registry: OCI Distribution
 * v1.1 lets a registry support `DELETE /v2/<name>/manifests/<tag>`, but distribution/distribution
 * answers it with `UNSUPPORTED` (it deletes by digest only, and a delete by digest removes the
 * manifest together with every tag on it). Pushing into quarantine and untagging afterwards
 * would therefore mean deleting the image and putting it back by digest, with quarantine
 * tagged (and the image briefly missing) in between, and tagged for good wherever deletes are
 * off. Instead the engine pushes into a staging repository of its own; a byte-for-byte mover
 * copies the pushed digest from there into the destination without a tag (blobs mounted, not
 * copied), and the staging manifest is deleted by digest. Quarantine never sees a tag.
 *
 * Every copy gets its own staging repository: a delete by digest removes every tag on that
 * digest, and engines push the same image with the same digest, so two copies sharing one
 * staging repository could delete each other's staged image between push and copy.
 */
import { randomBytes } from 'node:crypto';
import { AppError } from '../../lib/errors';
import type { Logger } from '../../lib/logger';
import type { CopyOptions, Mover } from '../mover';
import type { ImageRef } from '../reference';
import type { RegistryClient } from '../types';

/** What the engine mover needs of a destination registry: a HEAD to verify, a DELETE to clean up staging. */
export type DestinationClient = Pick<RegistryClient, 'headManifest' | 'deleteManifest'>;

/** The repository prefix of staging repositories. @defaultValue 'portcullis-engine-staging' */
export const DEFAULT_STAGING_PREFIX = 'portcullis-engine-staging';

/** Where the engine pushes one copy: a fresh repository and tag for a tagless destination, else `dst` itself. */
export interface PushTarget {
  ref: ImageRef & { tag: string };
  /** True when `ref` is a staging repository that must be copied out and deleted. */
  staged: boolean;
}

/** The push target of one copy; the generated tag is `portcullis-engine-<12 hex>`. */
export function pushTarget(dst: ImageRef, stagingPrefix: string): PushTarget {
  if (dst.tag !== undefined) return { ref: { registry: dst.registry, repository: dst.repository, tag: dst.tag }, staged: false };
  const hex = randomBytes(6).toString('hex');
  return { ref: { registry: dst.registry, repository: `${stagingPrefix}/${hex}`, tag: `portcullis-engine-${hex}` }, staged: true };
}

/**
 * Copies the staged digest into the tagless destination with a byte-for-byte mover and returns
 * what the destination serves for that digest. `keepManifests` as the engine mover was asked
 * (staging: the scan that follows reads them back).
 * @throws AppError DIGEST_MISMATCH when the copier wrote another digest, REGISTRY_ERROR when the
 *   destination does not serve it afterwards.
 */
export async function copyOutOfStaging(copier: Mover, destination: DestinationClient, staging: ImageRef, dst: ImageRef,
  digest: string, opts: Pick<CopyOptions, 'signal' | 'keepManifests'> = {}): Promise<{ digest: string; mediaType: string; size: number }> {
  const copied = await copier.copy({ registry: staging.registry, repository: staging.repository, digest },
    { registry: dst.registry, repository: dst.repository }, { signal: opts.signal, keepManifests: opts.keepManifests });
  if (copied.digest !== digest) {
    throw new AppError('DIGEST_MISMATCH', `${dst.registry}/${dst.repository}: staged ${digest}, the copy wrote ${copied.digest}`);
  }
  const head = await destination.headManifest(dst.repository, digest);
  if (!head || head.digest !== digest) {
    throw new AppError('REGISTRY_ERROR', `${dst.registry}/${dst.repository}@${digest} is not served after the copy out of staging`);
  }
  return head;
}

/**
 * Deletes whatever the staging tag points to, by digest (which removes the tag with it). A
 * registry with deletes off answers 405 UNSUPPORTED: the staging tag then stays, outside the
 * destination, and a warning says so; the copy itself has already succeeded or failed.
 */
export async function deleteStaging(destination: DestinationClient, staging: ImageRef & { tag: string }, logger?: Logger): Promise<void> {
  try {
    const head = await destination.headManifest(staging.repository, staging.tag);
    if (head) await destination.deleteManifest(staging.repository, head.digest);
  } catch (err) {
    logger?.warn({ repository: staging.repository, tag: staging.tag, err },
      'engine staging manifest not deleted (does the registry allow deletes?); quarantine is untagged all the same');
  }
}
