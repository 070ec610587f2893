/**
 * The one capped body reader of the builtin scanner (image configs, tar entries the parsers
 * read). Over the cap the stream is destroyed at once instead of drained: the rest of an
 * oversized body is never downloaded or decompressed.
 */
import { AppError } from '../../lib/errors';

/** What both a node Readable and a tar-stream entry (streamx) offer. */
export interface DestroyableStream extends AsyncIterable<unknown> {
  destroy(err?: Error): unknown;
}

/** Reads `stream` whole, failing with `SCAN_LIMIT_EXCEEDED` past `max` bytes. */
export async function readCapped(stream: DestroyableStream, max: number, what: string): Promise<Buffer> {
  const chunks: Buffer[] = [];
  let size = 0;
  for await (const chunk of stream) {
    const c = chunk as Buffer;
    size += c.length;
    if (size > max) {
      const err = new AppError('SCAN_LIMIT_EXCEEDED', `${what} exceeds ${max} bytes`);
      stream.destroy(err);
      throw err;
    }
    chunks.push(c);
  }
  return Buffer.concat(chunks);
}
