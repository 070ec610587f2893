/**
 * Clients for command-line use (`portcullis copy`, `portcullis inspect`). A tool reaches a
 * registry the way skopeo does: directly at the host written in the reference, unless the
 * configuration names it (an upstream → through its endpoint; the internal registry → at its
 * URL, with its credentials). `insecure` means: skip TLS verification, and fall back to plain
 * HTTP when the registry does not speak TLS at all (skopeo's --tls-verify=false).
 */
import type { Config } from '../lib/config';
import { AppError } from '../lib/errors';
import type { Credentials } from './auth';
import { DistributionClient, type ClientOptions } from './client';
import { RegistryError } from './errors';
import { DEFAULT_REGISTRY, normalizeRegistryHost, type ImageRef } from './reference';

export interface ToolClientOptions {
  insecure?: boolean;
  credentials?: Credentials;
  /** The loaded configuration, when there is one. */
  config?: Pick<Config, 'upstreams' | 'internalRegistry'>;
}

/** `user:password` (the password may contain colons). */
export function parseCredentials(value: string): Credentials {
  const i = value.indexOf(':');
  if (i <= 0) throw new AppError('INVALID_REQUEST', 'credentials must be given as user:password');
  return { username: value.slice(0, i), password: value.slice(i + 1) };
}

function configured(ref: ImageRef, opts: ToolClientOptions): ClientOptions | undefined {
  const cfg = opts.config;
  if (!cfg) return undefined;
  const host = normalizeRegistryHost(ref.registry);
  const creds = (c: { username?: string; password?: string }) => opts.credentials
    ?? (c.username !== undefined && c.password !== undefined ? { username: c.username, password: c.password } : undefined);
  const up = cfg.upstreams.find((u) => normalizeRegistryHost(u.registry) === host);
  if (up) {
    return { url: up.endpoint, registryHost: up.registry, endpointOnly: true, credentials: creds(up), insecure: up.insecure || opts.insecure, caFile: up.caFile, proxy: up.proxy };
  }
  const internal = cfg.internalRegistry;
  const internalHosts = [new URL(internal.url).host, internal.publicHost].filter(Boolean).map((h) => normalizeRegistryHost(h as string));
  if (internalHosts.includes(host)) return { url: internal.url, credentials: creds(internal), insecure: internal.insecure || opts.insecure, caFile: internal.caFile };
  return undefined;
}

/** Whether a failed ping says "this port does not speak TLS" (so plain HTTP is worth a try). */
function notTls(err: unknown): boolean {
  const cause = (err as { cause?: { code?: string; message?: string } }).cause;
  return err instanceof RegistryError && err.httpStatus === undefined
    && (cause?.code === 'EPROTO' || cause?.code === 'ECONNRESET' || /wrong version number|packet length too long/i.test(cause?.message ?? ''));
}

/** A client for the registry of `ref`, reached as a command-line tool would. */
export async function toolClient(ref: ImageRef, opts: ToolClientOptions = {}): Promise<DistributionClient> {
  const fromConfig = configured(ref, opts);
  if (fromConfig) return new DistributionClient(fromConfig);
  const host = ref.registry === DEFAULT_REGISTRY ? 'registry-1.docker.io' : ref.registry;
  const secure = new DistributionClient({ url: `https://${host}`, insecure: opts.insecure, credentials: opts.credentials, registryHost: ref.registry });
  if (!opts.insecure) return secure;
  try {
    await secure.session.ensureChallenge();
    return secure;
  } catch (err) {
    if (!notTls(err)) throw err;
    secure.close();
    return new DistributionClient({ url: `http://${host}`, credentials: opts.credentials, registryHost: ref.registry });
  }
}
