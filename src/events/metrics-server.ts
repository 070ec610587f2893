/**
 * The metrics listener: `GET /metrics` on its own port (so that the API's rate limits, auth and
 * body parsing never touch scrapes, and workers, which serve no API, expose theirs too), behind a
 * bearer token when `metrics.token` is set (compared in constant time).
 */
import { createHash, timingSafeEqual } from 'node:crypto';
import { once } from 'node:events';
import { createServer, type Server } from 'node:http';
import type { Metrics } from './metrics';

export interface MetricsServerOptions {
  host: string;
  port: number;
  token?: string;
}

const digest = (s: string): Buffer => createHash('sha256').update(s).digest();

export async function startMetricsServer(metrics: Metrics, options: MetricsServerOptions): Promise<{ server: Server; port: number }> {
  const expected = options.token ? digest(`Bearer ${options.token}`) : null;
  const server = createServer((req, res) => {
    if (req.method !== 'GET' || (req.url ?? '').split('?')[0] !== '/metrics') {
      res.writeHead(404, { 'content-type': 'text/plain' }).end('not found\n');
      return;
    }
    if (expected && !timingSafeEqual(digest(req.headers.authorization ?? ''), expected)) {
      res.writeHead(401, { 'content-type': 'text/plain', 'www-authenticate': 'Bearer realm="portcullis-metrics"' }).end('unauthorized\n');
      return;
    }
    metrics.exposition().then(
      ({ contentType, body }) => res.writeHead(200, { 'content-type': contentType }).end(body),
      () => res.writeHead(503, { 'content-type': 'text/plain' }).end('metrics unavailable\n'),
    );
  });
  server.listen(options.port, options.host);
  await once(server, 'listening');
  const addr = server.address();
  return { server, port: typeof addr === 'object' && addr ? addr.port : options.port };
}
