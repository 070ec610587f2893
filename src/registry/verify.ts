/**
 * Integrity while streaming (design principle 1): bytes are hashed as they pass, and the
 * stream fails with DIGEST_MISMATCH before its end is signalled downstream, so a consumer
 * that commits on end (an upload's final PUT) never commits bad bytes.
 */
import { createHash, type Hash } from 'node:crypto';
import { Transform, type TransformCallback } from 'node:stream';
import { RegistryError } from './errors';

const ALGORITHMS: Record<string, string> = { sha256: 'sha256', sha512: 'sha512' };

/** A hasher for the algorithm of `digest`; only sha256 and sha512 are registered (image-spec). */
export function hasherFor(digest: string): Hash {
  const algorithm = ALGORITHMS[digest.split(':')[0]];
  if (!algorithm) throw new RegistryError('DIGEST_MISMATCH', `unsupported digest algorithm in ${digest}`);
  return createHash(algorithm);
}

/** `algorithm:hex` of a buffer. */
export function digestOf(data: Buffer, algorithm = 'sha256'): string {
  return `${algorithm}:${createHash(algorithm).update(data).digest('hex')}`;
}

export function mismatch(what: string, details: Record<string, unknown>): RegistryError {
  return new RegistryError('DIGEST_MISMATCH', what, { details });
}

/** Passes bytes through, failing when they do not hash to `digest` or their count is not `size`. */
export class DigestVerifier extends Transform {
  private readonly hash: Hash;
  private bytes = 0;

  constructor(private readonly digest: string, private readonly size?: number) {
    super();
    this.hash = hasherFor(digest);
  }

  override _transform(chunk: Buffer, _enc: BufferEncoding, cb: TransformCallback): void {
    this.bytes += chunk.length;
    if (this.size !== undefined && this.bytes > this.size) {
      cb(mismatch(`blob ${this.digest}: more than the ${this.size} bytes expected`, { digest: this.digest, size: this.size }));
      return;
    }
    this.hash.update(chunk);
    cb(null, chunk);
  }

  override _flush(cb: TransformCallback): void {
    if (this.size !== undefined && this.bytes !== this.size) {
      cb(mismatch(`blob ${this.digest}: ${this.bytes} bytes, expected ${this.size}`, { digest: this.digest, size: this.size, got: this.bytes }));
      return;
    }
    const got = `${this.digest.split(':')[0]}:${this.hash.digest('hex')}`;
    if (got !== this.digest) {
      cb(mismatch(`blob ${this.digest}: content hashes to ${got}`, { digest: this.digest, got }));
      return;
    }
    cb();
  }
}
