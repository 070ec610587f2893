/**
 * There is no Docker engine on these machines, so docker-compose.yml is checked as data:
 * every service can be created, the mounted Portcullis config passes the real schema, the
 * environment names only keys the loader reads, and no secret is written in clear.
 */
import { existsSync, readFileSync } from 'node:fs';
import path from 'node:path';
import YAML from 'yaml';
import { loadConfig, scannerEnvName, upstreamEnvName } from '../../../src/lib/config';

const ROOT = path.resolve(__dirname, '../../..');

interface ComposeService {
  image?: string;
  build?: unknown;
  environment?: Record<string, string>;
  volumes?: string[];
  command?: string[];
}

const compose = YAML.parse(readFileSync(path.join(ROOT, 'docker-compose.yml'), 'utf8'), { merge: true }) as {
  services: Record<string, ComposeService>;
};

const SECRET_KEY = /(PASSWORD|SECRET|TOKEN|_KEY$|PSK)/i;

describe('docker-compose.yml', () => {
  const services = compose.services;

  it('has the production-like services, each with an image or a build', () => {
    expect(Object.keys(services).sort()).toEqual(['api', 'clair', 'clair-db', 'nginx', 'redis', 'registry', 'worker']);
    for (const [name, svc] of Object.entries(services)) {
      expect({ name, ok: Boolean(svc.image || svc.build) }).toEqual({ name, ok: true });
    }
    expect(services.api.build).toBe('.');
    expect(services.worker.command).toEqual(['--role', 'worker']);
    expect(services.redis.command).toContain('--appendonly');
  });

  it('mounts files that exist, and a Portcullis config the schema accepts', () => {
    for (const svc of Object.values(services)) {
      for (const v of svc.volumes ?? []) {
        const [src] = v.split(':');
        if (src.startsWith('./') && !src.startsWith('./secrets/')) expect(existsSync(path.join(ROOT, src))).toBe(true);
      }
    }
    const mount = services.api.volumes?.find((v) => v.endsWith(':/etc/portcullis/config.yaml:ro'));
    expect(mount).toBeDefined();
    expect(services.api.environment?.PORTCULLIS_CONFIG).toBe('/etc/portcullis/config.yaml');
    const cfg = loadConfig({ env: {}, file: path.join(ROOT, mount!.split(':')[0]) });
    expect(cfg.server.host).toBe('0.0.0.0');
    expect(cfg.upstreams.map((u) => u.registry)).toContain('docker.io');
    // The compose stack runs Clair; the worker must use it, not a builtin database it lacks.
    expect(cfg.scanners).toEqual([expect.objectContaining({ type: 'clair', url: 'http://clair:6060' })]);
  });

  it('passes only environment variables the configuration loader reads', () => {
    const cfg = loadConfig({ env: {}, file: path.join(ROOT, 'config/compose.yaml') });
    const known = new Set([
      'PORTCULLIS_CONFIG', 'PORTCULLIS_REDIS_URL', 'PORTCULLIS_SERVER_PORT', 'PORTCULLIS_AUDIT_KEY',
      'PORTCULLIS_INTERNAL_REGISTRY_USERNAME', 'PORTCULLIS_INTERNAL_REGISTRY_PASSWORD',
      ...cfg.upstreams.flatMap((u) => [upstreamEnvName(u.registry, 'USERNAME'), upstreamEnvName(u.registry, 'PASSWORD')]),
      ...cfg.scanners.flatMap((s) => [scannerEnvName(s.name, 'PSK'), scannerEnvName(s.name, 'AUTHORIZATION')]),
    ]);
    for (const name of ['api', 'worker']) {
      for (const key of Object.keys(services[name].environment ?? {})) expect({ key, known: known.has(key) }).toEqual({ key, known: true });
    }
  });

  it('gives api and worker the audit key they refuse to start without, required from .env', () => {
    for (const name of ['api', 'worker']) {
      expect({ name, key: services[name].environment?.PORTCULLIS_AUDIT_KEY }).toEqual({ name, key: expect.stringMatching(/^\$\{PORTCULLIS_AUDIT_KEY:\?[^}]+\}$/) });
    }
  });

  it('writes no secret in clear: every secret-looking value is an interpolation', () => {
    for (const [name, svc] of Object.entries(services)) {
      for (const [key, value] of Object.entries(svc.environment ?? {})) {
        if (!SECRET_KEY.test(key)) continue;
        expect({ service: name, key, value: String(value) }).toEqual({ service: name, key, value: expect.stringMatching(/^\$\{[A-Z0-9_]+(:[-?][^}]*)?\}$/) });
      }
    }
    const text = readFileSync(path.join(ROOT, 'docker-compose.yml'), 'utf8') + readFileSync(path.join(ROOT, 'config/compose.yaml'), 'utf8')
      + readFileSync(path.join(ROOT, 'deploy/clair/config.yaml'), 'utf8');
    const lines = text.split('\n').map((l) => l.replace(/(^|\s)#.*$/, ''));
    for (const line of lines) {
      const m = /(\w*(?:password|secret|token)\w*)\s*[:=]\s*(\S+)/i.exec(line);
      // A key naming a file (tokensFile) holds a path, not a secret.
      if (m && !/file$/i.test(m[1])) expect({ line, value: m[2] }).toEqual({ line, value: expect.stringMatching(/^\$\{/) });
      expect(line).not.toMatch(/:\/\/[^/\s:@]+:[^/\s@$]+@/);
    }
  });

  it('publishes ports on loopback only', () => {
    for (const svc of Object.values(services)) {
      for (const p of (svc as { ports?: string[] }).ports ?? []) expect(p).toMatch(/^127\.0\.0\.1:/);
    }
  });
});
