/**
 * The one way out for HTTP calls that are not registry blob streams: remote scanners, the
 * vulnerability data sync, webhook deliveries, readiness probes. Built on Node's http/https
 * with the same connection pools, TLS settings (`caFile`, `insecure`) and forward proxies
 * (`proxy`, else HTTPS_PROXY/NO_PROXY) as the registry transport (agents.ts, proxy.ts).
 * Every call has a deadline and a capped body; redirects are not followed unless asked
 * (a webhook or scanner URL that redirects elsewhere would send our credentials to a host
 * nobody configured). Errors name the operation and the URL without credentials or query,
 * never a header.
 */
import http, { type IncomingMessage } from 'node:http';
import https from 'node:https';
import { AgentPool, type TlsSettings } from './agents';
import { basicAuth } from './basic';
import { BodyTooLarge, readBody, type Overflow } from './body';
import { proxyFor } from './proxy';

export interface HttpClientOptions extends TlsSettings {
  /** Forward proxy for every call; otherwise HTTPS_PROXY/NO_PROXY apply. */
  proxy?: string;
  /** Environment for HTTPS_PROXY/NO_PROXY. @defaultValue process.env */
  env?: NodeJS.ProcessEnv;
  /** Deadline of one call, response body included. @defaultValue 30000 */
  timeoutMs?: number;
  /** Largest response body read. @defaultValue 64 MiB */
  maxBodyBytes?: number;
  /** @defaultValue 'portcullis/0.1' */
  userAgent?: string;
}

export interface HttpCall {
  method: 'GET' | 'POST' | 'PUT' | 'DELETE' | 'HEAD';
  url: string | URL;
  headers?: Record<string, string>;
  body?: string | Buffer;
  timeoutMs?: number;
  maxBodyBytes?: number;
  /** Over `maxBodyBytes`: fail (`too_large`), or keep the first bytes (see {@link Overflow}). @defaultValue 'error' */
  overflow?: Overflow;
  /** Follow up to 5 redirects (GET only). @defaultValue false */
  followRedirects?: boolean;
  /** Names the operation in errors, e.g. `Clair index_report`. @defaultValue `${method} ${url}` without credentials */
  what?: string;
}

export interface HttpReply {
  status: number;
  headers: Headers;
  body: Buffer;
  /** The body was cut at `maxBodyBytes` (`overflow: 'truncate'`). */
  truncated: boolean;
}

/** Why a call failed before a complete answer: the caller maps it to its own error code. */
export type HttpFailure = 'unreachable' | 'timeout' | 'too_large' | 'connection_lost';

export class HttpError extends Error {
  constructor(readonly reason: HttpFailure, message: string, options?: { cause?: unknown }) {
    super(message, options);
    this.name = 'HttpError';
  }
}

export const isHttpError = (err: unknown): err is HttpError => err instanceof HttpError;

/** `https://user:pw@host/p?token=…` → `https://host/p`: what an error or a log may show of a URL. */
export function redactUrl(url: string | URL): string {
  try {
    const u = new URL(String(url));
    return `${u.protocol}//${u.host}${u.pathname}`;
  } catch {
    return '(invalid URL)';
  }
}


const DEFAULT_TIMEOUT_MS = 30_000;
const DEFAULT_MAX_BODY = 64 * 1024 * 1024;

function toHeaders(res: IncomingMessage): Headers {
  const out = new Headers();
  for (const [k, v] of Object.entries(res.headers)) {
    if (v === undefined) continue;
    for (const value of Array.isArray(v) ? v : [v]) out.append(k, value);
  }
  return out;
}

function codeOf(err: unknown): string {
  const code = (err as { code?: unknown }).code;
  return typeof code === 'string' ? code : err instanceof Error ? err.name : 'error';
}

export class HttpClient {
  private readonly pool: AgentPool;

  constructor(private readonly options: HttpClientOptions = {}) {
    this.pool = new AgentPool(options);
  }

  /** One call, its whole (capped) body read. Rejects with {@link HttpError} when no complete answer came. */
  async request(call: HttpCall): Promise<HttpReply> {
    let url = new URL(String(call.url));
    for (let hop = 0; ; hop++) {
      const reply = await this.once({ ...call, url });
      const location = reply.headers.get('location');
      if (!call.followRedirects || call.method !== 'GET' || hop >= 5 || ![301, 302, 303, 307, 308].includes(reply.status) || !location) return reply;
      url = new URL(location, url);
    }
  }

  /**
   * One GET whose body is handed back unread, for downloads too large to buffer (redirects
   * followed). The deadline covers the answer's head only; `idleTimeoutMs` bounds a stall.
   */
  async stream(call: Omit<HttpCall, 'method' | 'body' | 'overflow' | 'maxBodyBytes'> & { idleTimeoutMs?: number }): Promise<IncomingMessage> {
    let url = new URL(String(call.url));
    for (let hop = 0; ; hop++) {
      const res = await this.open({ ...call, method: 'GET', url }, call.idleTimeoutMs ?? 60_000);
      const location = res.headers.location;
      if (hop >= 5 || ![301, 302, 303, 307, 308].includes(res.statusCode ?? 0) || !location) return res;
      res.resume();
      url = new URL(location, url);
    }
  }

  /** Closes pooled sockets (short-lived processes). */
  close(): void {
    this.pool.destroy();
  }

  private what(call: HttpCall): string {
    return call.what ?? `${call.method} ${redactUrl(call.url)}`;
  }

  private async once(call: HttpCall & { url: URL }): Promise<HttpReply> {
    const what = this.what(call);
    const timeoutMs = call.timeoutMs ?? this.options.timeoutMs ?? DEFAULT_TIMEOUT_MS;
    const limit = call.maxBodyBytes ?? this.options.maxBodyBytes ?? DEFAULT_MAX_BODY;
    const deadline = AbortSignal.timeout(timeoutMs);
    const res = await this.open(call, undefined, deadline);
    try {
      const { body, truncated } = await readBody(res, limit, call.overflow ?? 'error');
      return { status: res.statusCode ?? 0, headers: toHeaders(res), body, truncated };
    } catch (err) {
      if (err instanceof BodyTooLarge) throw new HttpError('too_large', `${what}: response larger than ${limit} bytes`);
      if (deadline.aborted) throw new HttpError('timeout', `${what}: no complete answer within ${timeoutMs} ms`, { cause: err });
      throw new HttpError('connection_lost', `${what}: connection lost while reading the response (${codeOf(err)})`, { cause: err });
    } finally {
      if (!res.complete) res.destroy();
    }
  }

  /** Sends the request and resolves with the response head. */
  private open(call: HttpCall & { url: URL }, idleTimeoutMs?: number, signal?: AbortSignal): Promise<IncomingMessage> {
    const { url } = call;
    const what = this.what(call);
    const proxy = proxyFor(url, this.options.proxy, this.options.env ?? process.env);
    const secure = url.protocol === 'https:';
    const plainViaProxy = proxy !== undefined && !secure;
    const body = call.body === undefined ? undefined : Buffer.from(call.body);
    const headers: Record<string, string> = {
      'user-agent': this.options.userAgent ?? 'portcullis/0.1', ...call.headers,
      ...(body ? { 'content-length': String(body.length) } : call.method === 'POST' || call.method === 'PUT' ? { 'content-length': '0' } : {}),
      ...(plainViaProxy && proxy.username ? { 'proxy-authorization': basicAuth(decodeURIComponent(proxy.username), decodeURIComponent(proxy.password)) } : {}),
    };
    const timeoutMs = call.timeoutMs ?? this.options.timeoutMs ?? DEFAULT_TIMEOUT_MS;
    // Without a signal (a stream), the deadline covers the head only: a download may take long.
    const head = signal ? undefined : new AbortController();
    const timer = head && setTimeout(() => head.abort(), timeoutMs);
    const deadline = signal ?? (head as AbortController).signal;
    return new Promise<IncomingMessage>((resolve, reject) => {
      const request = (secure ? https : http).request({
        method: call.method,
        host: plainViaProxy ? proxy.hostname.replace(/^\[|\]$/g, '') : url.hostname.replace(/^\[|\]$/g, ''),
        port: plainViaProxy ? Number(proxy.port || 80) : Number(url.port || (secure ? 443 : 80)),
        path: plainViaProxy ? url.href : `${url.pathname}${url.search}`,
        headers: { host: url.host, ...headers },
        agent: this.pool.agentFor(url, proxy),
        signal: deadline,
      });
      if (idleTimeoutMs) request.setTimeout(idleTimeoutMs, () => request.destroy(Object.assign(new Error(`no data for ${idleTimeoutMs} ms`), { code: 'ETIMEDOUT' })));
      request.once('response', (res) => {
        clearTimeout(timer);
        resolve(res);
      });
      request.once('error', (err) => {
        clearTimeout(timer);
        if (deadline.aborted) reject(new HttpError('timeout', `${what}: no answer within ${timeoutMs} ms`, { cause: err }));
        else reject(new HttpError('unreachable', `${what}: unreachable (${codeOf(err)})`, { cause: err }));
      });
      request.end(body);
    });
  }
}

/** The process's client with default settings (no private CA, environment proxies). */
let shared: HttpClient | undefined;
export function defaultHttpClient(): HttpClient {
  shared ??= new HttpClient();
  return shared;
}
