/**
 * A real nginx as the reverse proxy in front of an upstream registry, the way Portcullis
 * reaches every outside registry. Its access log records every request it forwards, so
 * tests can show that traffic went through it. Streaming both ways: no buffering, no body
 * size limit (layers are large).
 */
import { readFileSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { ensureDir, freePort, portOpen, startProcess, tempDir, type Service } from './proc';

export interface NginxService extends Service {
  url: string;
  host: string;
  port: number;
  accessLog: string;
  /** The request lines logged so far (`GET /v2/... 200`). */
  requests(): string[];
}

export interface NginxOptions {
  /** Base URL of the upstream, e.g. `http://127.0.0.1:5001`. */
  upstream: string;
  name?: string;
  /** Extra directives inside `location / { }`, e.g. a sub_filter for tamper tests. */
  locationExtra?: string;
  /** Fixed port; a free one by default. */
  port?: number;
  /** Folder for config and logs; a new temp folder by default. */
  dir?: string;
}

export function nginxConfig(dir: string, port: number, opts: NginxOptions): string {
  const tmp = (n: string) => path.join(dir, n);
  return `
daemon off;
master_process off;
worker_processes 1;
pid ${tmp('nginx.pid')};
error_log ${tmp('error.log')} warn;
events { worker_connections 256; }
http {
  log_format portcullis '$request_method $uri $status $body_bytes_sent';
  access_log ${tmp('access.log')} portcullis;
  client_body_temp_path ${tmp('client_body')};
  proxy_temp_path ${tmp('proxy')};
  fastcgi_temp_path ${tmp('fastcgi')};
  uwsgi_temp_path ${tmp('uwsgi')};
  scgi_temp_path ${tmp('scgi')};
  server {
    listen 127.0.0.1:${port};
    client_max_body_size 0;
    chunked_transfer_encoding on;
    location / {
      proxy_pass ${opts.upstream};
      proxy_http_version 1.1;
      proxy_set_header Host $http_host;
      proxy_set_header X-Forwarded-Proto $scheme;
      proxy_buffering off;
      proxy_request_buffering off;
      proxy_read_timeout 900;
      ${opts.locationExtra ?? ''}
    }
  }
}
`;
}

export async function startNginx(opts: NginxOptions): Promise<NginxService> {
  const name = opts.name ?? 'nginx';
  const dir = opts.dir ? ensureDir(opts.dir) : tempDir(name);
  const port = opts.port ?? (await freePort());
  const configFile = path.join(dir, 'nginx.conf');
  writeFileSync(configFile, nginxConfig(dir, port, opts));
  const svc = await startProcess({
    name,
    command: 'nginx',
    args: ['-c', configFile, '-p', dir, '-e', path.join(dir, 'error.log')],
    dir,
    ready: () => portOpen(port),
  });
  const accessLog = path.join(dir, 'access.log');
  return {
    ...svc,
    url: `http://127.0.0.1:${port}`,
    host: `127.0.0.1:${port}`,
    port,
    accessLog,
    requests() {
      try {
        return readFileSync(accessLog, 'utf8').split('\n').filter(Boolean);
      } catch {
        return [];
      }
    },
  };
}
