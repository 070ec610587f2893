/**
 * The admission webhook's HTTP/1.1 layer: a strict, minimal server on node's TLS server, for the
 * one kind of client the webhook has (the Kubernetes API server, plus the kubelet's probes). The
 * API server sends every review as one `POST` with a `Content-Length` on a kept-alive connection
 * (client-go sends a byte body), and waits for the answer on every Pod the cluster makes: under
 * load that wait is what times admission webhooks out (kyverno/kyverno #3390, #5714). node's
 * `http` server spent about as much CPU per review as the review's JSON.parse and Portcullis's
 * decision together (request and response objects, streams, header objects nobody reads;
 * bench:admission: a constant answer costs 18–23 µs of CPU through node's `https` and 15–19 µs
 * through this, most of either being the loopback TLS write), so the webhook speaks HTTP/1.1
 * itself, narrowly and strictly, as RFC 9112 lets a server:
 *
 * - The request line must be `METHOD target HTTP/1.1` (or `HTTP/1.0`), the target a path (origin
 *   form; absolute form is read for its path, `*` only for OPTIONS); any other version answers
 *   505. HTTP/1.1 needs exactly one `Host`, whose value is an authority. Header names are tokens,
 *   values hold no control character, obsolete line folding is refused: 400 `INVALID_REQUEST`.
 *   Every check is a linear scan: no input makes the parse backtrack.
 * - The body is delimited by one decimal `Content-Length`, or by `Transfer-Encoding: chunked`
 *   (decoded strictly: hex sizes, CRLFs; its framing and trailers at most 4 times the head limit); both at once, a
 *   repeated `Content-Length` or any other transfer coding is refused (400, 501), so that no two
 *   readers of the same bytes can ever see two different requests. A request with neither has no
 *   body.
 * - Limits: the head at most 16 KiB (431 `HEADERS_TOO_LARGE`), a body at most 4 MiB (413
 *   `BODY_TOO_LARGE`, answered before the body is read), a request whole within 30 s of its
 *   first byte (408 `REQUEST_TIMEOUT`: a client trickling bytes cannot hold a connection), a
 *   TLS handshake within 10 s, an idle kept-alive connection 120 s, at most 4096 connections.
 *   The idle limit is longer than the API server's own (Go's `IdleConnTimeout`, 90 s), so that
 *   the client, not the webhook, closes an idle connection: a close racing a new review would
 *   fail that review, and a `POST` is not retried.
 * - `Expect: 100-continue` gets its interim 100 (HTTP/1.1 only); any other expectation 417.
 * - Pipelined requests are answered in order; a client that does not read its answers is not
 *   read from either (the socket pauses until they drain), and one that ends its side after
 *   sending them still gets every answer before the connection closes.
 * - Memory follows what arrives, not what a client declares: a body's buffer grows as its bytes
 *   come (up to its declared length), and bytes arriving in tiny records are appended into
 *   storage that doubles and searched once each, so no input costs quadratic time.
 * - Every refusal is a JSON error with a code, then the connection is closed: after a framing
 *   error nothing more on the connection can be trusted. A refusal never reaches the handler, and
 *   a review that is not answered is denied by the API server (`failurePolicy: Fail`).
 *
 * The handler is synchronous: it gets the method, path (without the query: the API server adds
 * `?timeout=5s`), content type and body, and returns the status and JSON of the answer; what it
 * throws is answered 500 and told to `onError`.
 */
import { STATUS_CODES } from 'node:http';
import type { Socket } from 'node:net';
import { createServer, type TLSSocket } from 'node:tls';
import { AppError, type ErrorCode } from '../lib/errors';

export interface Http1Request {
  method: string;
  /** The request target's path, without its query. */
  path: string;
  /** The `Content-Type` header, if any. */
  contentType: string | undefined;
  body: Buffer;
}

export interface Http1Answer {
  status: number;
  json: string;
}

export interface Http1Limits {
  /** The request line and headers (also a chunked body's trailers). @defaultValue 16384 */
  maxHeaderBytes: number;
  /** @defaultValue 4194304 */
  maxBodyBytes: number;
  /** From a request's first byte to its last. @defaultValue 30000 */
  requestTimeoutMs: number;
  /** A kept-alive connection with no request on it. @defaultValue 120000 */
  idleTimeoutMs: number;
  /** @defaultValue 10000 */
  handshakeTimeoutMs: number;
  /** @defaultValue 4096 */
  maxConnections: number;
}

export const HTTP1_DEFAULTS: Http1Limits = {
  maxHeaderBytes: 16 * 1024, maxBodyBytes: 4 * 1024 * 1024, requestTimeoutMs: 30_000, idleTimeoutMs: 120_000, handshakeTimeoutMs: 10_000, maxConnections: 4096,
};

export interface Http1Server {
  port: number;
  /** Stops listening and closes every connection. */
  close(): Promise<void>;
}

const CRLF = Buffer.from('\r\n');
const HEAD_END = Buffer.from('\r\n\r\n');
const TOKEN = /^[!#$%&'*+\-.^_`|~0-9A-Za-z]+$/;
/** Control characters other than horizontal tab (RFC 9110 §5.5: not in a field value). */
const CONTROL = /[\x00-\x08\x0a-\x1f\x7f]/;
const PRINTABLE = /^[\x21-\x7e]+$/;
const ORIGIN_FORM = /^\/[\x21-\x7e]*$/;
/** `http(s)://host[:port]` (not empty, no userinfo: RFC 9110 §4.2), then a path or a query or nothing. */
const ABSOLUTE_FORM = /^https?:\/\/[^/?#@]+(\/[\x21-\x7e]*|\?[\x21-\x7e]*)?$/i;
/** A `Host` value: an authority (reg-name or IP literal, and a port), possibly empty (RFC 9112 §3.2). */
const AUTHORITY = /^(?:\[[0-9A-Fa-f:.]+\]|[A-Za-z0-9\-._~!$&'()*+,;=%]*)(?::\d*)?$/;
const DIGITS = /^\d+$/;
const HEX = /^[0-9a-fA-F]{1,8}$/;
const CONTINUE = Buffer.from('HTTP/1.1 100 Continue\r\n\r\n');
/** How long a connection answered with `connection: close` may linger for the client to read the answer. */
const CLOSE_GRACE_MS = 2000;

/**
 * `s` without the optional whitespace (spaces and tabs, RFC 9110 §5.6.3) at either end: index
 * loops, not a regular expression (`/^[ \t]+|[ \t]+$/` backtracks quadratically on a long run of
 * spaces followed by something else), nor String#trim (which also removes a no-break space).
 */
function ows(s: string): string {
  let a = 0;
  let b = s.length;
  while (a < b && (s.charCodeAt(a) === 32 || s.charCodeAt(a) === 9)) a += 1;
  while (b > a && (s.charCodeAt(b - 1) === 32 || s.charCodeAt(b - 1) === 9)) b -= 1;
  return a === 0 && b === s.length ? s : s.slice(a, b);
}

/** A request that cannot be answered as asked: answered with this error, then the connection closes. */
class Refusal extends AppError {}

const refuse = (code: ErrorCode, message: string): Refusal => new Refusal(code, message);

let dateSecond = -1;
let dateText = '';
/** RFC 9110 §6.6.1: a server with a clock sends `Date`; written once a second, as node does. */
function httpDate(): string {
  const second = Math.floor(Date.now() / 1000);
  if (second !== dateSecond) {
    dateSecond = second;
    dateText = new Date(second * 1000).toUTCString();
  }
  return dateText;
}

/** A request whose head has been read: how its body is delimited and how far it has come. */
interface Pending {
  head: Head;
  /** The body (when it did not come in one piece), filled up to `filled`. */
  body: Buffer | null;
  filled: number;
  /** Chunked: what is left of the current chunk, what comes next, and the framing read so far. */
  chunkLeft: number;
  phase: 'size' | 'data' | 'data-end' | 'trailer';
  framing: number;
}

interface Head {
  method: string;
  path: string;
  contentType: string | undefined;
  close: boolean;
  /** Content-Length, or -1 for chunked. */
  length: number;
  expectContinue: boolean;
}

/**
 * The path of a request target (RFC 9112 §3.2): origin form as it is, absolute form (which a
 * server must accept) for its path, `*` for OPTIONS; without the query.
 */
function pathOf(method: string, target: string): string {
  let path: string;
  if (ORIGIN_FORM.test(target)) path = target;
  else if (method === 'OPTIONS' && target === '*') return '*';
  else if (ABSOLUTE_FORM.test(target) && PRINTABLE.test(target)) {
    const rest = target.slice(target.indexOf('//') + 2);
    const slash = rest.search(/[/?]/);
    path = slash === -1 || rest[slash] === '?' ? '/' : rest.slice(slash);
  }
  else throw refuse('INVALID_REQUEST', 'the request target must be a path');
  const q = path.indexOf('?');
  return q === -1 ? path : path.slice(0, q);
}

/** Parses a request head (without its final CRLF CRLF); throws a Refusal. */
function parseHead(text: string, maxBody: number): Head {
  // One pass with indexOf over the head: no array of lines, no lowercasing of headers nobody reads.
  const eol = text.indexOf('\r\n');
  const first = eol === -1 ? text : text.slice(0, eol);
  const sp1 = first.indexOf(' ');
  const sp2 = sp1 === -1 ? -1 : first.indexOf(' ', sp1 + 1);
  if (sp1 <= 0 || sp2 === -1 || first.indexOf(' ', sp2 + 1) !== -1) throw refuse('INVALID_REQUEST', 'malformed request line');
  const method = first.slice(0, sp1);
  if (!TOKEN.test(method)) throw refuse('INVALID_REQUEST', 'malformed request line');
  const version = first.slice(sp2 + 1);
  if (version !== 'HTTP/1.1' && version !== 'HTTP/1.0') {
    if (/^HTTP\/\d\.\d$/.test(version)) throw refuse('HTTP_VERSION_UNSUPPORTED', `${version} is not served here; use HTTP/1.1`);
    throw refuse('INVALID_REQUEST', 'malformed request line');
  }
  const path = pathOf(method, first.slice(sp1 + 1, sp2));
  let contentLength: string | undefined;
  let transferEncoding: string | undefined;
  let contentType: string | undefined;
  let closeToken = false;
  let keepAliveToken = false;
  let expect: string | undefined;
  let hosts = 0;
  for (let at = eol === -1 ? text.length : eol + 2, i = 1; at < text.length; i += 1) {
    let end = text.indexOf('\r\n', at);
    if (end === -1) end = text.length;
    const colon = text.indexOf(':', at);
    // No colon on the line, no name (a folded continuation line starts with whitespace), or
    // whitespace before the colon.
    if (colon <= at || colon >= end) throw refuse('INVALID_REQUEST', `malformed header line ${i}`);
    const name = text.slice(at, colon);
    if (!TOKEN.test(name)) throw refuse('INVALID_REQUEST', `malformed header line ${i}`);
    // Optional whitespace is spaces and tabs only (RFC 9110 §5.6.3), not whatever String#trim removes.
    const value = ows(text.slice(colon + 1, end));
    if (CONTROL.test(value)) throw refuse('INVALID_REQUEST', `control character in header ${name}`);
    at = end + 2;
    // By length first: only a name as long as one this layer reads is lowercased and compared.
    switch (name.length) {
      case 4:
        if (name.toLowerCase() !== 'host') break;
        if (!AUTHORITY.test(value)) throw refuse('INVALID_REQUEST', 'Host is not an authority');
        hosts += 1;
        break;
      case 6:
        if (name.toLowerCase() === 'expect') expect = value.toLowerCase();
        break;
      case 10:
        if (name.toLowerCase() !== 'connection') break;
        for (const token of value.split(',')) {
          const t = ows(token).toLowerCase();
          if (t === 'close') closeToken = true;
          else if (t === 'keep-alive') keepAliveToken = true;
        }
        break;
      case 12:
        if (name.toLowerCase() === 'content-type') contentType ??= value;
        break;
      case 14:
        if (name.toLowerCase() !== 'content-length') break;
        if (contentLength !== undefined) throw refuse('INVALID_REQUEST', 'more than one Content-Length');
        if (!DIGITS.test(value)) throw refuse('INVALID_REQUEST', 'Content-Length is not a decimal number');
        contentLength = value;
        break;
      case 17:
        if (name.toLowerCase() !== 'transfer-encoding') break;
        if (transferEncoding !== undefined) throw refuse('INVALID_REQUEST', 'more than one Transfer-Encoding');
        transferEncoding = value.toLowerCase();
        break;
      default:
    }
  }
  if (version === 'HTTP/1.1' && hosts !== 1) throw refuse('INVALID_REQUEST', 'an HTTP/1.1 request needs exactly one Host');
  const close = closeToken || (version === 'HTTP/1.0' && !keepAliveToken);
  // An HTTP/1.0 client cannot mean an expectation: ignored (RFC 9110 §10.1.1).
  if (version === 'HTTP/1.0') expect = undefined;
  if (expect !== undefined && expect !== '100-continue') throw refuse('EXPECTATION_FAILED', `cannot meet the expectation ${expect}`);
  let length = 0;
  if (transferEncoding !== undefined) {
    if (contentLength !== undefined) throw refuse('INVALID_REQUEST', 'both Transfer-Encoding and Content-Length');
    if (version !== 'HTTP/1.1') throw refuse('INVALID_REQUEST', 'Transfer-Encoding in an HTTP/1.0 request');
    if (transferEncoding !== 'chunked') throw refuse('TRANSFER_CODING_UNSUPPORTED', `transfer coding ${transferEncoding} is not supported; send chunked or a Content-Length`);
    length = -1;
  } else if (contentLength !== undefined) {
    // Leading zeros are still the same number; more than 15 digits is beyond any limit anyway.
    let zeros = 0;
    while (zeros < contentLength.length - 1 && contentLength.charCodeAt(zeros) === 48) zeros += 1;
    length = contentLength.length - zeros > 15 ? Infinity : Number(contentLength.slice(zeros));
    if (length > maxBody) throw refuse('BODY_TOO_LARGE', `a body is at most ${maxBody} bytes`);
  }
  return { method, path, contentType, close, length, expectContinue: expect === '100-continue' };
}

/**
 * Bytes received and not parsed yet, appended in place: bytes that come in one record are used
 * as they came; bytes that come in many are copied once each into storage that doubles as it
 * fills, so a head or framing line sent a byte at a time costs linear time, not quadratic.
 */
class Received {
  /** The unparsed bytes: a view of one record, or of `store`. */
  view: Buffer | null = null;
  private store: Buffer | null = null;
  /** Whether `view` is in `store`, ending where the bytes stored so far end (`stored`). */
  private inStore = false;
  private stored = 0;

  append(c: Buffer): void {
    const v = this.view;
    if (v === null) {
      this.view = c;
      this.inStore = false;
      return;
    }
    if (this.inStore && this.stored + c.length <= this.store!.length) {
      c.copy(this.store!, this.stored);
      this.stored += c.length;
      this.view = this.store!.subarray(this.stored - v.length - c.length, this.stored);
      return;
    }
    const store = Buffer.allocUnsafe(Math.max(4096, 2 * (v.length + c.length)));
    v.copy(store, 0);
    c.copy(store, v.length);
    this.store = store;
    this.stored = v.length + c.length;
    this.inStore = true;
    this.view = store.subarray(0, this.stored);
  }

  /** Drops the first `n` bytes (what is left still ends where it did). */
  consume(n: number): void {
    const v = this.view!;
    if (n < v.length) {
      this.view = v.subarray(n);
      return;
    }
    // All used: the store is let go (the next bytes start afresh), not kept by an idle connection.
    this.clear();
  }

  clear(): void {
    this.view = null;
    this.store = null;
    this.inStore = false;
  }
}

/** One connection: bytes in, requests parsed in order, each answered before the next is read. */
class Connection {
  private readonly received = new Received();
  /** How far the search for the end of a head or framing line has looked in `received` already. */
  private scanned = 0;
  private req: Pending | null = null;
  private timer: NodeJS.Timeout | null = null;
  private closing = false;
  private paused = false;
  /** The client ended its side: answer what it sent, then end ours. */
  private peerEnded = false;

  constructor(
    private readonly sock: TLSSocket,
    private readonly limits: Http1Limits,
    private readonly handle: (r: Http1Request) => Http1Answer,
    private readonly onError: (err: unknown) => void,
  ) {
    sock.on('data', (c: Buffer) => this.onData(c));
    sock.on('drain', () => this.onDrain());
    sock.on('end', () => this.onEnd());
    // A reset or a broken pipe: nothing to answer, nothing to keep.
    sock.on('error', () => sock.destroy());
    sock.on('close', () => this.clearTimer());
    sock.setTimeout(limits.idleTimeoutMs, () => sock.destroy());
  }

  private onData(c: Buffer): void {
    if (this.closing) return;
    this.received.append(c);
    this.pump();
  }

  private onDrain(): void {
    if (!this.paused || this.closing) return;
    this.paused = false;
    this.sock.resume();
    this.pump();
  }

  /**
   * The client sent everything it will (the server allows half-open connections for this): what
   * is whole is still answered, in order, then the connection ends; a request cut short by the
   * end can never be completed and is dropped.
   */
  private onEnd(): void {
    this.peerEnded = true;
    this.pump();
  }

  private pump(): void {
    try {
      while (this.received.view !== null && !this.paused && !this.closing) {
        if (this.req === null) {
          if (!this.readHead()) break;
        } else if (!(this.req.head.length >= 0 ? this.readLength(this.req) : this.readChunked(this.req))) {
          break;
        }
      }
    } catch (err) {
      // A refusal says why; anything else is this layer's own fault, answered without detail.
      if (!(err instanceof Refusal)) this.report(err);
      const e = err instanceof Refusal ? err : new AppError('INTERNAL', 'internal error');
      this.answer({ status: e.status, json: JSON.stringify({ error: { code: e.code, message: e.message } }) }, true, false);
      return;
    }
    if (this.closing) return;
    const partial = this.req !== null || this.received.view !== null;
    if (this.peerEnded && !this.paused) {
      // Every whole request is answered (ended after its answers are flushed); what is left can
      // never be whole and is dropped.
      this.finish();
      return;
    }
    // A request begun and not whole yet must be whole within the request timeout; not while the
    // connection waits for the client to read its answers (the idle timeout covers that), so
    // requests that came whole are not refused for the client's slow reading.
    if (partial && !this.paused) this.timer ??= setTimeout(() => this.timeout(), this.limits.requestTimeoutMs).unref();
    else this.clearTimer();
  }

  /** Reads a request's head; false when it has not all come yet. */
  private readHead(): boolean {
    const buf = this.received.view!;
    // RFC 9112 §2.2: empty lines before a request line are ignored.
    let start = 0;
    while (buf.length >= start + 2 && buf[start] === 13 && buf[start + 1] === 10) start += 2;
    if (start > 0) {
      this.received.consume(start);
      this.scanned = 0;
      return this.received.view !== null;
    }
    const max = this.limits.maxHeaderBytes;
    const end = buf.indexOf(HEAD_END, Math.max(0, this.scanned - 3));
    if (end === -1) {
      // The head is at most `max` bytes before its final CRLF CRLF, however the bytes are split.
      if (buf.length > max + 3) throw refuse('HEADERS_TOO_LARGE', `a request head is at most ${max} bytes`);
      this.scanned = buf.length;
      return false;
    }
    if (end > max) throw refuse('HEADERS_TOO_LARGE', `a request head is at most ${max} bytes`);
    const head = parseHead(buf.toString('latin1', 0, end), this.limits.maxBodyBytes);
    this.received.consume(end + 4);
    this.scanned = 0;
    this.req = { head, body: null, filled: 0, chunkLeft: 0, phase: 'size', framing: 0 };
    if (head.length === 0) return this.complete(Buffer.alloc(0));
    const rest = this.received.view;
    if (head.expectContinue && !(head.length > 0 && rest !== null && rest.length >= head.length)) this.sock.write(CONTINUE);
    return true;
  }

  /**
   * Room for `n` more body bytes: the buffer grows with what has come (doubling, up to `cap`),
   * so a declared length that is never sent holds no memory.
   */
  private room(r: Pending, n: number, cap: number): Buffer {
    const need = r.filled + n;
    if (r.body === null || r.body.length < need) {
      const grown = Buffer.allocUnsafe(Math.min(cap, Math.max(need, 2 * (r.body?.length ?? 0), 16 * 1024)));
      r.body?.copy(grown, 0, 0, r.filled);
      r.body = grown;
    }
    return r.body;
  }

  /** A Content-Length body: used as it came when it is in one piece, else copied in as it comes. */
  private readLength(r: Pending): boolean {
    const buf = this.received.view!;
    const need = r.head.length - r.filled;
    if (r.body === null && buf.length >= need) {
      this.received.consume(need);
      return this.complete(buf.subarray(0, need));
    }
    const n = Math.min(need, buf.length);
    buf.copy(this.room(r, n, r.head.length), r.filled, 0, n);
    r.filled += n;
    this.received.consume(n);
    return r.filled === r.head.length ? this.complete(r.body!.subarray(0, r.filled)) : false;
  }

  /** A line of chunk framing (size, end of chunk or trailer), without its CRLF; null until it is whole. */
  private line(r: Pending): string | null {
    const buf = this.received.view!;
    const end = buf.indexOf(CRLF, Math.max(0, this.scanned - 1));
    const budget = this.limits.maxHeaderBytes * 4;
    if (r.framing + (end === -1 ? buf.length : end + 2) > budget) {
      throw refuse('INVALID_REQUEST', `a chunked body's framing and trailers are at most ${budget} bytes (too many chunks)`);
    }
    if (end === -1) {
      this.scanned = buf.length;
      return null;
    }
    r.framing += end + 2;
    this.scanned = 0;
    const text = buf.toString('latin1', 0, end);
    this.received.consume(end + 2);
    return text;
  }

  /**
   * A chunked body (RFC 9112 §7.1), decoded strictly into one buffer that grows as it fills;
   * chunk extensions are ignored and trailers dropped. The framing is bounded (four times the
   * head limit), so that a body sent a byte per chunk is refused rather than parsed for seconds.
   */
  private readChunked(r: Pending): boolean {
    const max = this.limits.maxBodyBytes;
    while (this.received.view !== null) {
      if (r.phase === 'size') {
        const text = this.line(r);
        if (text === null) return false;
        // chunk-size [ BWS ";" extension ]: hex from the first byte, whitespace only before a ';'.
        const semi = text.indexOf(';');
        const hex = semi === -1 ? text : ows(text.slice(0, semi));
        if (!HEX.test(hex) || text.charCodeAt(0) === 32 || text.charCodeAt(0) === 9 || CONTROL.test(text)) throw refuse('INVALID_REQUEST', 'malformed chunk size');
        const size = parseInt(hex, 16);
        if (size === 0) {
          r.phase = 'trailer';
          continue;
        }
        if (r.filled + size > max) throw refuse('BODY_TOO_LARGE', `a body is at most ${max} bytes`);
        r.chunkLeft = size;
        r.phase = 'data';
      } else if (r.phase === 'data') {
        const buf = this.received.view;
        const n = Math.min(r.chunkLeft, buf.length);
        buf.copy(this.room(r, n, max), r.filled, 0, n);
        r.filled += n;
        r.chunkLeft -= n;
        this.received.consume(n);
        if (r.chunkLeft === 0) r.phase = 'data-end';
      } else if (r.phase === 'data-end') {
        const text = this.line(r);
        if (text === null) return false;
        if (text !== '') throw refuse('INVALID_REQUEST', 'a chunk is longer than its size');
        r.phase = 'size';
      } else {
        const text = this.line(r);
        if (text === null) return false;
        if (text === '') return this.complete(r.body === null ? Buffer.alloc(0) : r.body.subarray(0, r.filled));
        const colon = text.indexOf(':');
        if (colon <= 0 || !TOKEN.test(text.slice(0, colon)) || CONTROL.test(text.slice(colon + 1))) throw refuse('INVALID_REQUEST', 'malformed trailer');
      }
    }
    return false;
  }

  /** The request is whole: answered; true when the connection goes on to the next. */
  private complete(body: Buffer): boolean {
    const r = this.req!;
    this.req = null;
    // The next request, if one has begun, gets a whole timeout of its own.
    this.clearTimer();
    let a: Http1Answer;
    try {
      a = this.handle({ method: r.head.method, path: r.head.path, contentType: r.head.contentType, body });
    } catch (err) {
      this.report(err);
      a = { status: 500, json: '{"error":{"code":"INTERNAL","message":"internal error"}}' };
    }
    this.answer(a, r.head.close, r.head.method === 'HEAD');
    return !this.closing;
  }

  private answer(a: Http1Answer, close: boolean, headOnly: boolean): void {
    const length = Buffer.byteLength(a.json);
    const head = `HTTP/1.1 ${a.status} ${STATUS_CODES[a.status] ?? 'Unknown'}\r\ncontent-type: application/json\r\ncontent-length: ${length}\r\ndate: ${httpDate()}\r\n${close ? 'connection: close\r\n' : ''}\r\n`;
    const flushed = this.sock.write(headOnly ? head : head + a.json);
    if (close) {
      this.finish();
      return;
    }
    if (!flushed) {
      // A client that does not read its answers is not read from until they drain.
      this.paused = true;
      this.sock.pause();
    }
  }

  /**
   * Ends the connection once what was written is flushed: whatever else the client sends is not
   * read, and a client that goes on sending instead of closing its side is cut off after a grace
   * period.
   */
  private finish(): void {
    this.closing = true;
    this.received.clear();
    this.clearTimer();
    this.sock.end();
    setTimeout(() => this.sock.destroy(), CLOSE_GRACE_MS).unref();
  }

  /** Tells `onError`, which must not take the connection (or the process) down by throwing. */
  private report(err: unknown): void {
    try {
      this.onError(err);
    } catch {
      // A logger that throws has nowhere better to say so.
    }
  }

  private timeout(): void {
    this.timer = null;
    if (this.closing || this.sock.destroyed) return;
    this.answer({ status: 408, json: JSON.stringify({ error: { code: 'REQUEST_TIMEOUT', message: `a request must arrive whole within ${this.limits.requestTimeoutMs} ms` } }) }, true, false);
  }

  private clearTimer(): void {
    if (this.timer !== null) clearTimeout(this.timer);
    this.timer = null;
  }
}

/** Listens on `host:port` over TLS and answers each request with `handle`. */
export async function serveHttp1(o: {
  host: string; port: number; cert: Buffer; key: Buffer; handle: (r: Http1Request) => Http1Answer; limits?: Partial<Http1Limits>;
  /** Told what the handler (or this layer) threw; the client got a 500 without detail. */
  onError?: (err: unknown) => void;
}): Promise<Http1Server> {
  const limits = { ...HTTP1_DEFAULTS, ...o.limits };
  const onError = o.onError ?? (() => undefined);
  // Every accepted connection, handshake done or not, so that close() ends them all at once.
  const sockets = new Set<Socket>();
  // No ALPN protocols: the client speaks HTTP/1.1, as it does with node's https server. Half-open
  // allowed: a client that ends its side after its requests still gets their answers.
  const server = createServer({ cert: o.cert, key: o.key, minVersion: 'TLSv1.2', handshakeTimeout: limits.handshakeTimeoutMs, allowHalfOpen: true }, (sock) => {
    new Connection(sock, limits, o.handle, onError);
  });
  server.on('connection', (sock: Socket) => {
    sockets.add(sock);
    sock.on('close', () => sockets.delete(sock));
  });
  server.maxConnections = limits.maxConnections;
  // A failed handshake (a plain-HTTP client, a bad certificate, a timeout) only closes that socket.
  server.on('tlsClientError', (_err, sock) => sock.destroy());
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(o.port, o.host, () => {
      server.off('error', reject);
      resolve();
    });
  });
  const addr = server.address();
  return {
    port: typeof addr === 'object' && addr ? addr.port : o.port,
    close: () => new Promise<void>((resolve) => {
      server.close(() => resolve());
      for (const s of sockets) s.destroy();
    }),
  };
}
