/**
 * The one capped body reader of outbound HTTP (the client, the registry's manifests and error
 * bodies). Never trust a Content-Length: count what arrives.
 */
import type { Readable } from 'node:stream';

export type Overflow =
  /** Fail past the cap (the caller names the error: too large). */
  | 'error'
  /** Keep the first bytes, stop reading and close the connection. */
  | 'truncate'
  /** Keep the first bytes, read (and drop) the rest, so that a keep-alive socket can be reused. */
  | 'drain';

export class BodyTooLarge extends Error {
  constructor(readonly limit: number) {
    super(`response body larger than ${limit} bytes`);
    this.name = 'BodyTooLarge';
  }
}

export async function readBody(stream: Readable, limit: number, overflow: Overflow = 'error'): Promise<{ body: Buffer; truncated: boolean }> {
  const chunks: Buffer[] = [];
  let size = 0;
  let truncated = false;
  for await (const chunk of stream as AsyncIterable<Buffer>) {
    if (size + chunk.length <= limit) {
      chunks.push(chunk);
      size += chunk.length;
      continue;
    }
    if (overflow === 'error') {
      stream.destroy();
      throw new BodyTooLarge(limit);
    }
    if (!truncated) chunks.push(chunk.subarray(0, limit - size));
    size = limit;
    truncated = true;
    if (overflow === 'truncate') {
      stream.destroy();
      break;
    }
  }
  return { body: Buffer.concat(chunks), truncated };
}
