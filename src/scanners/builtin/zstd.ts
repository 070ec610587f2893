/**
 * zstd-compressed layers (`application/vnd.oci.image.layer.v1.tar+zstd`), decoded with
 * `fzstd`: Node 20 has no zstd in zlib, and fzstd is a maintained, dependency-free, streaming
 * pure-JS decoder (no native build or prebuilt binary to download, unlike the bindings).
 *
 * A zstd frame declares its window, which the decoder allocates: fzstd accepts up to 2 GB. A
 * layer is refused when its first frame asks for more than {@link MAX_WINDOW}, the default
 * limit of the reference decoder (ZSTD_WINDOWLOG_LIMIT_DEFAULT = 27) that `zstd -d` enforces
 * without `--long`. Decompressed bytes are counted by the layer reader's budget as for gzip.
 */
import { Transform, type TransformCallback } from 'node:stream';
import { Decompress } from 'fzstd';
import { AppError } from '../../lib/errors';

export const MAX_WINDOW = 128 * 1024 * 1024;

export function isZstd(head: Buffer): boolean {
  return head[0] === 0x28 && head[1] === 0xb5 && head[2] === 0x2f && head[3] === 0xfd;
}

/** The window the frame starting at `head[0]` asks for; null when the header is not complete yet. */
export function frameWindow(head: Buffer): number | null {
  if (head.length < 6) return null;
  const fhd = head[4]!;
  const single = (fhd >> 5) & 1;
  const fcsFlag = fhd >> 6;
  const dictBytes = [0, 1, 2, 4][fhd & 3]!;
  if (!single) {
    const wd = head[5]!;
    const base = 2 ** (10 + (wd >> 3));
    return base + (base / 8) * (wd & 7);
  }
  // Single segment: the window is the frame content size.
  const at = 5 + dictBytes;
  const size = [1, 2, 4, 8][fcsFlag]!;
  if (head.length < at + size) return null;
  if (size === 1) return head[at]!;
  if (size === 2) return head.readUInt16LE(at) + 256;
  if (size === 4) return head.readUInt32LE(at);
  return Number(head.readBigUInt64LE(at));
}

/**
 * Input is fed to the decoder in small slices and the next slice waits while the reader is
 * behind: one zstd block of a few bytes can expand to 128 KB (an RLE block), so a whole 64 KB
 * chunk could expand to gigabytes in one call; a {@link SLICE}-byte slice to at most ~32 MB.
 * fzstd gathers partial blocks in a list, so small slices cost no re-copying.
 */
const SLICE = 1024;

/** A Transform decoding zstd; fails with SCAN_FAILED on bad data or an oversized window. */
export class ZstdDecompress extends Transform {
  private readonly decoder: Decompress;
  private head: Buffer | null = Buffer.alloc(0);
  private behind = false;
  private wake: (() => void) | null = null;

  constructor() {
    super();
    this.decoder = new Decompress((data) => {
      // A copy: the decoder's output may be a view of its window, which it reuses.
      if (data.length > 0 && !this.push(Buffer.from(data))) this.behind = true;
    });
  }

  override _read(size: number): void {
    this.behind = false;
    const wake = this.wake;
    this.wake = null;
    wake?.();
    super._read(size);
  }

  private async feed(chunk: Buffer, final: boolean): Promise<void> {
    for (let at = 0; at < chunk.length || (final && at === 0); at += SLICE) {
      const end = Math.min(chunk.length, at + SLICE);
      this.decoder.push(chunk.subarray(at, end), final && end === chunk.length);
      if (this.behind) await new Promise<void>((resolve) => (this.wake = resolve));
      if (chunk.length === 0) break;
    }
  }

  private run(chunk: Buffer, final: boolean, cb: TransformCallback): void {
    this.feed(chunk, final).then(
      () => cb(),
      (e: Error) => cb(new AppError('SCAN_FAILED', `layer is not valid zstd: ${e.message}`)),
    );
  }

  override _transform(chunk: Buffer, _enc: BufferEncoding, cb: TransformCallback): void {
    if (this.head !== null) {
      const head = Buffer.concat([this.head, chunk]);
      const window = frameWindow(head);
      if (window === null && head.length < 32) {
        this.head = head;
        return cb();
      }
      this.head = null;
      if (window === null || window > MAX_WINDOW) {
        return cb(new AppError('SCAN_FAILED', `zstd layer asks for a ${window ?? 'unreadable'}-byte window, over the ${MAX_WINDOW}-byte limit`));
      }
      return this.run(head, false, cb);
    }
    this.run(chunk, false, cb);
  }

  override _flush(cb: TransformCallback): void {
    const rest = this.head ?? Buffer.alloc(0);
    this.head = null;
    this.run(rest, true, cb);
  }
}
