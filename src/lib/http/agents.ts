/**
 * Keep-alive connection pools, one per (scheme, forward proxy) of a registry client, with the
 * registry's TLS settings. HTTPS through a forward proxy uses an HTTP CONNECT tunnel
 * (RFC 9110 §9.3.6) and TLS end to end inside it, so the proxy never sees the bytes.
 */
import { readFileSync } from 'node:fs';
import http from 'node:http';
import https from 'node:https';
import type { Duplex } from 'node:stream';
import tls from 'node:tls';
import { basicAuth } from './basic';

/** TLS settings of one registry. */
export interface TlsSettings {
  /** Skip certificate verification. Only when configured (`insecure: true`). @defaultValue false */
  insecure?: boolean;
  /** PEM bundle of CAs to trust, added to Node's defaults. */
  caFile?: string;
}

/** Parallel connections per pool: enough for `copy.jobs` (max 32) plus manifest calls. */
const MAX_SOCKETS = 40;

function proxyAuthHeader(proxy: URL): Record<string, string> {
  if (!proxy.username) return {};
  return { 'proxy-authorization': basicAuth(decodeURIComponent(proxy.username), decodeURIComponent(proxy.password)) };
}

type CreateCallback = (err: Error | null, socket: Duplex) => void;

/** An https.Agent whose sockets are TLS sessions inside a CONNECT tunnel through `proxy`. */
class TunnelAgent extends https.Agent {
  constructor(private readonly proxy: URL, options: https.AgentOptions) {
    super(options);
  }

  // Node's Agent accepts an asynchronous createConnection that reports through the callback.
  override createConnection(options: https.RequestOptions, callback?: CreateCallback): Duplex | undefined {
    const target = `${options.host}:${options.port}`;
    // Node's Agent only reads the socket argument when err is null.
    const fail = (err: Error) => callback?.(err, undefined as unknown as Duplex);
    const connect = http.request({
      host: this.proxy.hostname.replace(/^\[|\]$/g, ''),
      port: Number(this.proxy.port || 80),
      method: 'CONNECT',
      path: target,
      headers: { host: target, ...proxyAuthHeader(this.proxy) },
      agent: false,
    });
    connect.once('connect', (res, socket) => {
      if (res.statusCode !== 200) {
        socket.destroy();
        fail(Object.assign(new Error(`forward proxy refused CONNECT ${target}: HTTP ${res.statusCode}`), { code: 'ECONNREFUSED' }));
        return;
      }
      const secure = tls.connect({
        socket,
        servername: options.servername ?? options.host ?? undefined,
        rejectUnauthorized: options.rejectUnauthorized,
        ca: options.ca,
      });
      secure.once('secureConnect', () => callback?.(null, secure));
      secure.once('error', fail);
    });
    connect.once('error', fail);
    connect.end();
    return undefined;
  }
}

/** The pools of one registry client. */
export class AgentPool {
  private readonly agents = new Map<string, http.Agent>();
  private readonly ca?: Buffer;

  constructor(private readonly tlsSettings: TlsSettings = {}) {
    this.ca = tlsSettings.caFile ? readFileSync(tlsSettings.caFile) : undefined;
  }

  /** The agent for a target URL, optionally through a forward proxy. */
  agentFor(target: URL, proxy?: URL): http.Agent {
    const key = `${target.protocol}|${proxy?.href ?? ''}`;
    let agent = this.agents.get(key);
    if (!agent) {
      agent = this.create(target.protocol === 'https:', proxy);
      this.agents.set(key, agent);
    }
    return agent;
  }

  private create(secure: boolean, proxy?: URL): http.Agent {
    const base = { keepAlive: true, maxSockets: MAX_SOCKETS, maxFreeSockets: 16, scheduling: 'lifo' as const };
    if (!secure) return new http.Agent(base);
    const tlsOptions: https.AgentOptions = {
      ...base,
      rejectUnauthorized: !this.tlsSettings.insecure,
      ...(this.ca ? { ca: [...tls.rootCertificates, this.ca.toString('utf8')] } : {}),
    };
    return proxy ? new TunnelAgent(proxy, tlsOptions) : new https.Agent(tlsOptions);
  }

  /** Closes idle sockets (for short-lived processes such as the CLI). */
  destroy(): void {
    for (const agent of this.agents.values()) agent.destroy();
    this.agents.clear();
  }
}
