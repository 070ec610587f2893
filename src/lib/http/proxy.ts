/**
 * Forward-proxy selection: an upstream's own `proxy` setting wins; otherwise HTTPS_PROXY
 * (or HTTP_PROXY for plain-HTTP endpoints) and NO_PROXY from the environment, with the
 * semantics Go's net/http/httpproxy gives them (which skopeo and docker follow): loopback
 * is never sent through an environment proxy; NO_PROXY entries match a host and its
 * subdomains (`.example.com` and `example.com` alike), optionally with a port; `*` matches all.
 */
import net from 'node:net';

function envValue(env: NodeJS.ProcessEnv, name: string): string | undefined {
  const v = env[name] ?? env[name.toLowerCase()];
  return v && v.trim() ? v.trim() : undefined;
}

function isLoopback(host: string): boolean {
  const h = host.replace(/^\[|\]$/g, '');
  if (h === 'localhost' || h.endsWith('.localhost')) return true;
  if (net.isIPv4(h)) return h.startsWith('127.');
  return h === '::1';
}

/** Whether NO_PROXY exempts `host` (without brackets) on `port`. */
export function noProxyMatches(noProxy: string, host: string, port: string): boolean {
  const h = host.toLowerCase().replace(/^\[|\]$/g, '');
  for (const raw of noProxy.split(',')) {
    let entry = raw.trim().toLowerCase();
    if (!entry) continue;
    if (entry === '*') return true;
    let entryPort: string | undefined;
    const m = /^(.*?)(?::(\d+))?$/.exec(entry.startsWith('[') ? entry.replace(/^\[(.*)\](.*)$/, '$1$2') : entry);
    if (m && !net.isIPv6(entry)) {
      entry = m[1];
      entryPort = m[2];
    }
    if (entryPort && entryPort !== port) continue;
    if (net.isIP(entry) || net.isIP(h)) {
      if (entry === h) return true;
      continue;
    }
    const suffix = entry.startsWith('.') ? entry.slice(1) : entry;
    if (h === suffix || h.endsWith(`.${suffix}`)) return true;
  }
  return false;
}

/**
 * The forward proxy to use for `target`, or undefined to connect directly.
 * @param configured the upstream's `proxy` setting, which always applies when set.
 */
export function proxyFor(target: URL, configured: string | undefined, env: NodeJS.ProcessEnv = process.env): URL | undefined {
  if (configured) return new URL(configured);
  const host = target.hostname;
  if (isLoopback(host)) return undefined;
  const port = target.port || (target.protocol === 'https:' ? '443' : '80');
  const noProxy = envValue(env, 'NO_PROXY');
  if (noProxy && noProxyMatches(noProxy, host, port)) return undefined;
  const value = target.protocol === 'https:' ? envValue(env, 'HTTPS_PROXY') : envValue(env, 'HTTP_PROXY');
  if (!value) return undefined;
  return new URL(value.includes('://') ? value : `http://${value}`);
}
