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

/**
 * A private copy of one blob's bytes, made while a {@link DigestVerifier} checks them: each
 * chunk is copied in first and then the copy, not the chunk, is hashed, so the bytes found to
 * hash to the digest are these very bytes, in a buffer no other code was handed. Once
 * {@link VerifiedCopy.seal} has found all `size` bytes hashing to the digest, the copy is
 * verified and can be served for the digest without hashing it again (the staged blobs of an
 * upload: ./staged-blobs.ts); before that, or when they did not match, {@link bytes} throws.
 */
export class VerifiedCopy {
  readonly #bytes: Buffer;
  readonly #hash: Hash;
  #filled = 0;
  #state: 'filling' | 'verified' | 'failed' = 'filling';

  constructor(readonly digest: string, readonly size: number) {
    this.#hash = hasherFor(digest);
    // Its own memory (not a slice of Node's shared pool), so that nothing else shares it.
    this.#bytes = Buffer.allocUnsafeSlow(size);
  }

  /** Copies `chunk` in and hashes the copy; false (and the copy fails for good) when it would pass `size`. */
  append(chunk: Buffer): boolean {
    if (this.#state !== 'filling' || this.#filled + chunk.length > this.size) {
      this.#state = 'failed';
      return false;
    }
    chunk.copy(this.#bytes, this.#filled);
    this.#hash.update(this.#bytes.subarray(this.#filled, this.#filled + chunk.length));
    this.#filled += chunk.length;
    return true;
  }

  /**
   * Ends the copy: its digest (`algorithm:hex` of the bytes copied in), and verified when that is
   * the expected digest and all `size` bytes came. Only once: a second call, or one after an
   * {@link append} that failed, returns null and leaves the copy unverified.
   */
  seal(): string | null {
    if (this.#state !== 'filling') {
      this.#state = 'failed';
      return null;
    }
    const got = `${this.digest.split(':')[0]}:${this.#hash.digest('hex')}`;
    this.#state = got === this.digest && this.#filled === this.size ? 'verified' : 'failed';
    return got;
  }

  /**
   * Fills this copy, still empty, from another verified copy of the same blob (a kept staged
   * blob read for another upload, ./client.ts): its bytes are copied in, not shared, and this
   * copy is verified without hashing them again, since the bytes copied are ones that hashed to
   * the digest and were held by no other code. False (and nothing changes) when `source` is not
   * a verified copy of the same digest and size, or this copy was filled or sealed already.
   */
  fillFrom(source: VerifiedCopy): boolean {
    if (this.#state !== 'filling' || this.#filled !== 0 || !source.verified || source.digest !== this.digest || source.size !== this.size) return false;
    // Its memory handed to a scan thread (transferred: the buffer is detached, 0 bytes long),
    // the source holds nothing to copy: refused, rather than marking unwritten memory verified.
    if (source.#bytes.length !== this.size) return false;
    source.bytes.copy(this.#bytes);
    this.#filled = this.size;
    this.#state = 'verified';
    return true;
  }

  /** Whether every byte came and they hash to the digest. */
  get verified(): boolean {
    return this.#state === 'verified';
  }

  /** Bytes copied in so far. */
  get filled(): number {
    return this.#filled;
  }

  /** The verified bytes. @throws Error when the copy is not verified */
  get bytes(): Buffer {
    if (this.#state !== 'verified') throw new Error(`the copy of ${this.digest} is not verified`);
    return this.#bytes;
  }
}

/**
 * Passes bytes through, failing when they do not hash to `digest` or their count is not `size`.
 * With a {@link VerifiedCopy} (of the same digest and size), the bytes are hashed as the copy
 * makes them: the check and the copy are one pass, and the copy ends verified when the stream does.
 */
export class DigestVerifier extends Transform {
  private readonly hash: Hash | null;
  private bytes = 0;

  constructor(private readonly digest: string, private readonly size?: number, private readonly copy?: VerifiedCopy) {
    super();
    if (copy && (copy.digest !== digest || copy.size !== size)) throw new Error(`a copy of ${copy.digest} (${copy.size} bytes) cannot record ${digest} (${size ?? 'unknown size'})`);
    this.hash = copy ? null : hasherFor(digest);
  }

  override _transform(chunk: Buffer, _enc: BufferEncoding, cb: TransformCallback): void {
    this.bytes += chunk.length;
    if (this.size !== undefined && this.bytes > this.size) {
      cb(mismatch(`blob ${this.digest}: more than the ${this.size} bytes expected`, { digest: this.digest, size: this.size }));
      return;
    }
    if (this.copy) {
      // Only a copy used twice (a caller's fault) refuses bytes within the size.
      if (!this.copy.append(chunk)) {
        cb(mismatch(`blob ${this.digest}: its copy took no more bytes`, { digest: this.digest }));
        return;
      }
    } else this.hash!.update(chunk);
    cb(null, chunk);
  }

  override _flush(cb: TransformCallback): void {
    if (this.size !== undefined && this.bytes !== this.size) {
      cb(mismatch(`blob ${this.digest}: ${this.bytes} bytes, expected ${this.size}`, { digest: this.digest, size: this.size, got: this.bytes }));
      return;
    }
    const got = this.copy ? this.copy.seal() : `${this.digest.split(':')[0]}:${this.hash!.digest('hex')}`;
    if (got !== this.digest) {
      cb(mismatch(`blob ${this.digest}: content hashes to ${got}`, { digest: this.digest, got }));
      return;
    }
    cb();
  }
}
