/**
 * One HTTP exchange with Node's http/https (not axios) so that bodies stream both ways with
 * backpressure and nothing is buffered: a request body may be a Readable of gigabytes, and
 * the response is handed back unread. Forward proxies: CONNECT tunnels for HTTPS (see
 * agents.ts), absolute-form requests (RFC 9112 §3.2.2) for plain HTTP.
 */
import http, { type IncomingMessage } from 'node:http';
import https from 'node:https';
import { Readable } from 'node:stream';
import { AgentPool, basicAuth, proxyFor, type TlsSettings } from '../lib/http';
import { networkError, safeUrl } from './errors';

export interface TransportOptions extends TlsSettings {
  /** Forward proxy for every request of this client; otherwise HTTPS_PROXY/NO_PROXY apply. */
  proxy?: string;
  /** Environment for HTTPS_PROXY/NO_PROXY. @defaultValue process.env */
  env?: NodeJS.ProcessEnv;
  /** Idle socket timeout (no byte either way). @defaultValue 60000 */
  timeoutMs?: number;
}

export interface HttpRequest {
  method: string;
  url: URL;
  headers?: Record<string, string>;
  /** A Buffer, or a stream that is piped with backpressure. */
  body?: Buffer | Readable;
  signal?: AbortSignal;
}

export class Transport {
  private readonly pool: AgentPool;

  constructor(private readonly options: TransportOptions = {}) {
    this.pool = new AgentPool(options);
  }

  /** Whether requests to `url` go through a forward proxy. */
  proxied(url: URL): boolean {
    return proxyFor(url, this.options.proxy, this.options.env ?? process.env) !== undefined;
  }

  /** Sends a request and resolves with the response head; the body is left to the caller. */
  send(req: HttpRequest): Promise<IncomingMessage> {
    const { url } = req;
    const proxy = proxyFor(url, this.options.proxy, this.options.env ?? process.env);
    const secure = url.protocol === 'https:';
    const headers: Record<string, string> = { 'user-agent': 'portcullis/0.1', ...req.headers };
    if (Buffer.isBuffer(req.body)) headers['content-length'] = String(req.body.length);
    else if (!req.body && ['POST', 'PUT', 'PATCH'].includes(req.method)) headers['content-length'] = '0';
    const plainViaProxy = proxy !== undefined && !secure;
    if (plainViaProxy && proxy.username) {
      headers['proxy-authorization'] = basicAuth(decodeURIComponent(proxy.username), decodeURIComponent(proxy.password));
    }
    const options: http.RequestOptions = {
      method: req.method,
      host: plainViaProxy ? proxy.hostname.replace(/^\[|\]$/g, '') : url.hostname.replace(/^\[|\]$/g, ''),
      port: plainViaProxy ? Number(proxy.port || 80) : Number(url.port || (secure ? 443 : 80)),
      path: plainViaProxy ? url.href : `${url.pathname}${url.search}`,
      headers: { host: url.host, ...headers },
      agent: this.pool.agentFor(url, proxy),
      signal: req.signal,
    };
    const what = `${req.method} ${safeUrl(url)}`;
    return new Promise<IncomingMessage>((resolve, reject) => {
      const request = (secure ? https : http).request(options);
      const timeout = this.options.timeoutMs ?? 60000;
      request.setTimeout(timeout, () => request.destroy(Object.assign(new Error(`no data for ${timeout} ms`), { code: 'ETIMEDOUT' })));
      let settled = false;
      request.once('response', (res) => {
        settled = true;
        // The registry may answer (e.g. with an error) before the whole body went out.
        if (req.body instanceof Readable && !req.body.readableEnded) req.body.unpipe(request);
        resolve(res);
      });
      request.once('error', (err) => {
        if (req.body instanceof Readable) req.body.destroy();
        if (!settled) reject(networkError(err, what));
      });
      if (req.body instanceof Readable) {
        // A small body may have failed (a digest mismatch) while it sat buffered, before this
        // request existed: its 'error' is gone, so look at its state, or the request waits forever.
        if (req.body.destroyed) {
          request.destroy(req.body.errored ?? new Error('request body closed before it was sent'));
          return;
        }
        req.body.once('error', (err) => request.destroy(err));
        req.body.pipe(request);
      } else {
        request.end(req.body);
      }
    });
  }

  /** Closes pooled sockets. */
  close(): void {
    this.pool.destroy();
  }
}
