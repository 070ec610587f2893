/**
 * A test-only HTTP proxy in front of a registry that misbehaves on request: it answers
 * some requests itself (503, 429 with Retry-After, an oversized or non-JSON manifest) and
 * can flip one byte of a response body, the way a compromised or broken proxy would.
 * Everything else is forwarded untouched. It records every request it saw.
 */
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import { Transform } from 'node:stream';

export interface FaultRequest {
  method: string;
  path: string;
  /** How many earlier requests had the same method and path. */
  seen: number;
  /** Whether the request carried an Authorization header. */
  authorized: boolean;
}

export type FaultAction =
  | { kind: 'pass' }
  /** Forward, but flip one byte of the response body at `offset`. */
  | { kind: 'flip'; offset?: number }
  /** Answer directly; `chunked` sends no Content-Length (the body's size is unknown until its end). */
  | { kind: 'respond'; status: number; headers?: Record<string, string>; body?: Buffer | string; chunked?: boolean };

export interface FaultLogEntry extends FaultRequest {
  at: number;
  action: FaultAction['kind'];
}

export interface FaultProxy {
  url: string;
  host: string;
  log: FaultLogEntry[];
  close(): Promise<void>;
}

function flipper(offset: number): Transform {
  let pos = 0;
  return new Transform({
    transform(chunk: Buffer, _enc, cb) {
      if (offset >= pos && offset < pos + chunk.length) {
        const copy = Buffer.from(chunk);
        copy[offset - pos] ^= 0x01;
        chunk = copy;
      }
      pos += chunk.length;
      cb(null, chunk);
    },
  });
}

export async function startFaultProxy(target: string, decide: (req: FaultRequest) => FaultAction): Promise<FaultProxy> {
  const upstream = new URL(target);
  const log: FaultLogEntry[] = [];
  const counts = new Map<string, number>();
  const agent = new http.Agent({ keepAlive: true });
  const server = http.createServer((req, res) => {
    const key = `${req.method} ${req.url}`;
    const seen = counts.get(key) ?? 0;
    counts.set(key, seen + 1);
    const info: FaultRequest = { method: req.method ?? 'GET', path: req.url ?? '/', seen, authorized: req.headers.authorization !== undefined };
    const action = decide(info);
    log.push({ ...info, at: Date.now(), action: action.kind });
    if (action.kind === 'respond') {
      req.resume();
      const body = action.body === undefined ? Buffer.alloc(0) : Buffer.from(action.body);
      res.writeHead(action.status, { ...(action.chunked ? {} : { 'content-length': String(body.length) }), ...action.headers });
      res.end(body);
      return;
    }
    const fwd = http.request({
      host: upstream.hostname, port: upstream.port, method: req.method, path: req.url, headers: req.headers, agent,
    }, (up) => {
      res.writeHead(up.statusCode ?? 502, up.headers);
      if (action.kind === 'flip' && up.statusCode === 200) up.pipe(flipper(action.offset ?? 0)).pipe(res);
      else up.pipe(res);
    });
    fwd.on('error', () => res.destroy());
    req.pipe(fwd);
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as AddressInfo;
  return {
    url: `http://127.0.0.1:${port}`,
    host: `127.0.0.1:${port}`,
    log,
    close: () => new Promise<void>((resolve) => { agent.destroy(); server.closeAllConnections(); server.close(() => resolve()); }),
  };
}
