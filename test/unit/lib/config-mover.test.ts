/** The `mover` config section: defaults, the engine socket forms, TLS pairing, and how it becomes dockerode options. */
import { mkdtempSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { ConfigError, parseConfig } from '../../../src/lib/config';
import { createLogger } from '../../../src/lib/logger';
import { createMover, dockerOptions } from '../../../src/registry/movers/from-config';
import { UpstreamResolver } from '../../../src/registry/resolver';

const base = { internalRegistry: { url: 'http://127.0.0.1:5000' } };
const withMover = (mover: Record<string, unknown>, extra: Record<string, unknown> = {}) => parseConfig({ ...base, ...extra, mover });
const silent = createLogger({ level: 'silent' });

function configError(fn: () => unknown): string {
  try {
    fn();
  } catch (err) {
    expect(err).toBeInstanceOf(ConfigError);
    const message = (err as Error).message;
    expect(message).not.toContain('\n');
    return message;
  }
  throw new Error('expected a ConfigError');
}

describe('config mover', () => {
  it('defaults to the registry mover and the Docker socket', () => {
    expect(parseConfig(base).mover).toEqual({ type: 'registry', engineSocket: '/var/run/docker.sock' });
  });

  it.each(['/run/podman/podman.sock', 'unix:///var/run/docker.sock', 'tcp://127.0.0.1:2376', 'tcp://engine.internal:2375'])('accepts engineSocket %s', (engineSocket) => {
    expect(withMover({ type: 'engine', engineSocket }).mover.engineSocket).toBe(engineSocket);
  });

  it.each([
    [{ type: 'daemon' }, /^config: mover\.type: /],
    [{ engineSocket: 'docker.sock' }, /^config: mover\.engineSocket: must be a unix socket path .* or tcp:\/\/host:port$/],
    [{ engineSocket: 'tcp://127.0.0.1' }, /^config: mover\.engineSocket: /],
    [{ engineSocket: 'https://127.0.0.1:2376' }, /^config: mover\.engineSocket: /],
    [{ engineSocket: 'tcp://h:2376', engineCertFile: '/c.pem' }, /^config: mover\.engineKeyFile: must be set together with mover\.engineCertFile$/],
    [{ engineSocket: 'tcp://h:2376', engineKeyFile: '/k.pem' }, /^config: mover\.engineCertFile: must be set together with mover\.engineKeyFile$/],
    [{ engineCaFile: '/ca.pem' }, /^config: mover\.engineCaFile: applies only to a tcp:\/\/ mover\.engineSocket$/],
    [{ socket: '/x' }, /^config: unknown key mover\.socket/],
  ])('rejects %j with one line naming the key', (mover, pattern) => {
    expect(configError(() => withMover(mover))).toMatch(pattern);
  });

  it('dials a unix socket by path, with or without unix://', () => {
    expect(dockerOptions(withMover({ engineSocket: 'unix:///run/podman/podman.sock' }).mover)).toEqual({ socketPath: '/run/podman/podman.sock' });
    expect(dockerOptions(withMover({ engineSocket: '/var/run/docker.sock' }).mover)).toEqual({ socketPath: '/var/run/docker.sock' });
  });

  it('dials tcp:// over HTTPS with the configured files, over HTTP without any', () => {
    const dir = mkdtempSync(path.join(os.tmpdir(), 'portcullis-mover-'));
    const files = Object.fromEntries(['ca', 'cert', 'key'].map((n) => {
      const file = path.join(dir, `${n}.pem`);
      writeFileSync(file, `${n} pem`);
      return [n, file];
    }));
    const tls = withMover({ type: 'engine', engineSocket: 'tcp://127.0.0.1:2376', engineCaFile: files.ca, engineCertFile: files.cert, engineKeyFile: files.key }).mover;
    const opts = dockerOptions(tls);
    expect(opts).toMatchObject({ host: '127.0.0.1', port: 2376, protocol: 'https' });
    expect([opts.ca, opts.cert, opts.key].map(String)).toEqual(['ca pem', 'cert pem', 'key pem']);
    expect(dockerOptions(withMover({ engineSocket: 'tcp://127.0.0.1:2375' }).mover)).toEqual({ host: '127.0.0.1', port: 2375, protocol: 'http' });
  });

  it('names the key of a TLS file it cannot read', () => {
    const m = withMover({ engineSocket: 'tcp://127.0.0.1:2376', engineCaFile: '/nonexistent/ca.pem' }).mover;
    expect(configError(() => dockerOptions(m))).toBe('config: mover.engineCaFile: cannot read /nonexistent/ca.pem: ENOENT');
  });

  it('builds the mover the config names', () => {
    const registry = parseConfig(base);
    expect(createMover(registry, new UpstreamResolver(registry, { logger: silent }), silent).mover).toMatchObject({ name: 'registry', preservesDigest: true });
    const engine = withMover({ type: 'engine', engineSocket: '/nonexistent/docker.sock' });
    expect(createMover(engine, new UpstreamResolver(engine, { logger: silent }), silent).mover).toMatchObject({ name: 'engine', preservesDigest: false });
  });

  it('refuses, for the engine mover, an upstream endpoint with a path (an engine takes a host)', () => {
    const config = withMover({ type: 'engine' }, { upstreams: [{ registry: 'docker.io', endpoint: 'https://proxy.internal/hub/' }] });
    expect(configError(() => createMover(config, new UpstreamResolver(config, { logger: silent }), silent)))
      .toMatch(/^config: upstreams\[0\]\.endpoint: the engine mover needs an endpoint serving \/v2\/ at its root/);
  });

  it('stops on a dead engine socket with one line naming mover.engineSocket', async () => {
    const config = withMover({ type: 'engine', engineSocket: '/nonexistent/docker.sock' });
    const { check } = createMover(config, new UpstreamResolver(config, { logger: silent }), silent);
    const err = await check().then(() => undefined, (e: unknown) => e);
    expect(err).toBeInstanceOf(ConfigError);
    expect((err as Error).message).toBe('config: mover.engineSocket: the Docker engine at /nonexistent/docker.sock does not answer a ping (ENOENT)');
  });
});
