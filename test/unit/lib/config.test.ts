import { writeFileSync, mkdtempSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import YAML from 'yaml';
import { applyEnv, ConfigError, configDir, deepMerge, loadConfig, parseConfig, readYamlFile, upstreamEnvName } from '../../../src/lib/config';
import { configSchema } from '../../../src/lib/config-schema';

function overlay(content: unknown): string {
  const dir = mkdtempSync(path.join(os.tmpdir(), 'portcullis-cfg-'));
  const file = path.join(dir, 'overlay.yaml');
  writeFileSync(file, typeof content === 'string' ? content : YAML.stringify(content));
  return file;
}

describe('configuration', () => {
  it('default.yaml documents exactly the schema defaults', () => {
    const fromFile = deepMerge({}, readYamlFile(path.join(configDir(), 'default.yaml')));
    // The schema fills every default itself; default.yaml must state the same values.
    const fromSchema = configSchema.parse({});
    expect(configSchema.parse(fromFile)).toEqual(fromSchema);
  });

  it('overlays a file and keeps the other defaults', () => {
    const cfg = loadConfig({ env: {}, file: overlay({ server: { port: 9999 }, redis: { prefix: 'pc2' } }) });
    expect(cfg.server.port).toBe(9999);
    expect(cfg.server.host).toBe('127.0.0.1');
    expect(cfg.redis.prefix).toBe('pc2');
    expect(cfg.internalRegistry.quarantinePrefix).toBe('quarantine');
    expect(cfg.internalRegistry.approvedPath).toBe('approved/{team}/{registry}/{repository}');
  });

  it('takes secrets from the environment', () => {
    const file = overlay({ upstreams: [{ registry: 'docker.io', endpoint: 'http://127.0.0.1:8081' }] });
    const cfg = loadConfig({
      file,
      env: {
        PORTCULLIS_INTERNAL_REGISTRY_PASSWORD: 's3cret',
        PORTCULLIS_UPSTREAM_DOCKER_IO_USERNAME: 'bot',
        PORTCULLIS_UPSTREAM_DOCKER_IO_PASSWORD: 'hub-token',
      },
    });
    expect(cfg.internalRegistry.password).toBe('s3cret');
    expect(cfg.upstreams[0]).toMatchObject({ registry: 'docker.io', username: 'bot', password: 'hub-token', insecure: false });
    expect(upstreamEnvName('registry.example.com:5000', 'PASSWORD')).toBe('PORTCULLIS_UPSTREAM_REGISTRY_EXAMPLE_COM_5000_PASSWORD');
  });

  it.each([
    [{ server: { port: 'eighty' } }, /^config: server\.port: .*number/],
    [{ server: { prot: 80 } }, /^config: unknown key server\.prot/],
    [{ upstreams: [{ registry: 'ghcr.io', endpoint: 'not a url' }] }, /^config: upstreams\[0\]\.endpoint: /],
    [{ internalRegistry: { approvedPath: '' } }, /^config: internalRegistry\.approvedPath: /],
    [{ log: { level: 'loud' } }, /^config: log\.level: /],
  ])('rejects %j with one line naming the key', (bad, pattern) => {
    const file = overlay(bad);
    let err: unknown;
    try { loadConfig({ env: {}, file }); } catch (e) { err = e; }
    expect(err).toBeInstanceOf(ConfigError);
    const message = (err as Error).message;
    expect(message).toMatch(pattern);
    expect(message).not.toContain('\n');
    expect(message).toContain(file);
  });

  it('names a file that is not YAML', () => {
    expect(() => loadConfig({ env: {}, file: overlay('server: [unclosed') })).toThrow(/is not valid YAML/);
  });

  it('merges objects and replaces lists', () => {
    expect(deepMerge({ a: { b: 1, c: 2 }, l: [1, 2] }, { a: { c: 3 }, l: [9] })).toEqual({ a: { b: 1, c: 3 }, l: [9] });
    expect(applyEnv({}, { PORTCULLIS_REDIS_URL: 'redis://:pw@h:1' })).toEqual({ redis: { url: 'redis://:pw@h:1' } });
    expect(() => parseConfig({ upstreams: [{ endpoint: 'http://127.0.0.1:1' }] })).toThrow(/upstreams\[0\]\.registry/);
  });

  it('refuses a stalled-job check rarer than the job lock (a killed worker\'s job, and its upload sessions, would wait for it)', () => {
    expect(() => parseConfig({ worker: { lockDurationMs: 5000, stalledIntervalMs: 6000 } })).toThrow(/worker\.stalledIntervalMs.*at most worker\.lockDurationMs/);
    expect(parseConfig({ worker: { lockDurationMs: 5000, stalledIntervalMs: 5000 } }).worker.stalledIntervalMs).toBe(5000);
  });
});
