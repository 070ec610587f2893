/**
 * Loads the configuration: config/default.yaml, overlaid by the file named in
 * PORTCULLIS_CONFIG, overlaid by secrets from the environment, then validated by the one
 * schema. Any problem becomes a ConfigError whose one-line message names the key.
 */
import { readFileSync } from 'node:fs';
import path from 'node:path';
import YAML from 'yaml';
import type { z } from 'zod';
import { configSchema, type Config } from './config-schema';

export type { Config, MoverConfig, UpstreamConfig } from './config-schema';

export class ConfigError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'ConfigError';
  }
}

/** The folder holding default.yaml, found from this file in both src/ and dist/src/. */
export function configDir(): string {
  const fromSrc = path.resolve(__dirname, '../../config');
  const fromDist = path.resolve(__dirname, '../../../config');
  return __dirname.split(path.sep).includes('dist') ? fromDist : fromSrc;
}

type Plain = Record<string, unknown>;

function isPlain(v: unknown): v is Plain {
  return typeof v === 'object' && v !== null && !Array.isArray(v);
}

/**
 * Objects merge key by key; arrays and scalars in the overlay replace the base. An empty
 * YAML key (`auth:` with only comments below it) is null and means "keep the defaults".
 */
export function deepMerge(base: unknown, overlay: unknown): unknown {
  if (overlay === undefined || overlay === null) return isPlain(base) ? deepMerge({}, base) : base;
  if (!isPlain(overlay)) return overlay;
  const out: Plain = isPlain(base) ? { ...base } : {};
  for (const [k, v] of Object.entries(overlay)) {
    const merged = deepMerge(out[k], v);
    if (merged === undefined || merged === null) delete out[k];
    else out[k] = merged;
  }
  return out;
}

export function readYamlFile(file: string): unknown {
  let text: string;
  try {
    text = readFileSync(file, 'utf8');
  } catch (err) {
    throw new ConfigError(`config: cannot read ${file}: ${(err as NodeJS.ErrnoException).code ?? String(err)}`);
  }
  try {
    return YAML.parse(text) ?? {};
  } catch (err) {
    const first = String((err as Error).message).split('\n')[0];
    throw new ConfigError(`config: ${file} is not valid YAML: ${first}`);
  }
}

/** Env name for an upstream's secret: docker.io → PORTCULLIS_UPSTREAM_DOCKER_IO_PASSWORD. */
export function upstreamEnvName(registry: string, field: 'USERNAME' | 'PASSWORD'): string {
  return `PORTCULLIS_UPSTREAM_${registry.toUpperCase().replace(/[^A-Z0-9]/g, '_')}_${field}`;
}

/** Env name for a scanner's secret: scanner `clair-prod` → PORTCULLIS_SCANNER_CLAIR_PROD_PSK. */
export function scannerEnvName(name: string, field: 'PSK' | 'AUTHORIZATION'): string {
  return `PORTCULLIS_SCANNER_${name.toUpperCase().replace(/[^A-Z0-9]/g, '_')}_${field}`;
}

/** Secrets come from the environment so that they never sit in a config file. */
export function applyEnv(raw: unknown, env: NodeJS.ProcessEnv): unknown {
  const cfg = (isPlain(raw) ? structuredClone(raw) : {}) as Plain;
  const section = (name: string): Plain => {
    if (!isPlain(cfg[name])) cfg[name] = {};
    return cfg[name] as Plain;
  };
  const set = (envName: string, apply: (v: string) => void) => {
    const v = env[envName];
    if (v !== undefined && v !== '') apply(v);
  };
  set('PORTCULLIS_REDIS_URL', (v) => (section('redis').url = v));
  set('PORTCULLIS_INTERNAL_REGISTRY_USERNAME', (v) => (section('internalRegistry').username = v));
  set('PORTCULLIS_INTERNAL_REGISTRY_PASSWORD', (v) => (section('internalRegistry').password = v));
  set('PORTCULLIS_SERVER_PORT', (v) => (section('server').port = Number(v)));
  set('PORTCULLIS_METRICS_TOKEN', (v) => (section('metrics').token = v));
  set('PORTCULLIS_METRICS_PORT', (v) => (section('metrics').port = Number(v)));
  if (Array.isArray(cfg.upstreams)) {
    for (const up of cfg.upstreams) {
      if (!isPlain(up) || typeof up.registry !== 'string') continue;
      set(upstreamEnvName(up.registry, 'USERNAME'), (v) => (up.username = v));
      set(upstreamEnvName(up.registry, 'PASSWORD'), (v) => (up.password = v));
    }
  }
  if (Array.isArray(cfg.scanners)) {
    for (const sc of cfg.scanners) {
      if (!isPlain(sc) || typeof sc.name !== 'string') continue;
      // Each secret only where that adapter type takes it, so a strict schema never sees a stray key.
      if (sc.type === 'clair') set(scannerEnvName(sc.name, 'PSK'), (v) => (sc.psk = v));
      if (sc.type === 'harbor') set(scannerEnvName(sc.name, 'AUTHORIZATION'), (v) => (sc.authorization = v));
    }
  }
  return cfg;
}

function keyPath(p: ReadonlyArray<PropertyKey>): string {
  return p.map((k, i) => (typeof k === 'number' ? `[${k}]` : `${i ? '.' : ''}${String(k)}`)).join('') || '(root)';
}

/** One line for the first problem, naming the key, e.g. `config: server.port: expected number`. */
export function formatIssue(issue: z.core.$ZodIssue, source: string): string {
  if (issue.code === 'unrecognized_keys') {
    const keys = issue.keys.map((k) => keyPath([...issue.path, k]));
    return `config: unknown key ${keys.join(', ')}${source}`;
  }
  return `config: ${keyPath(issue.path)}: ${issue.message}${source}`;
}

export function parseConfig(raw: unknown, source = ''): Config {
  const result = configSchema.safeParse(raw);
  if (!result.success) throw new ConfigError(formatIssue(result.error.issues[0], source));
  return result.data;
}

export interface LoadOptions {
  env?: NodeJS.ProcessEnv;
  /**
   * Overlay file(s); defaults to env PORTCULLIS_CONFIG, which may name several files
   * separated by commas, applied in order (e.g. a ConfigMap, then a site overlay).
   */
  file?: string;
}

export function loadConfig(options: LoadOptions = {}): Config {
  const env = options.env ?? process.env;
  const files = (options.file ?? env.PORTCULLIS_CONFIG ?? '').split(',').map((f) => f.trim()).filter(Boolean);
  let raw = deepMerge({}, readYamlFile(path.join(configDir(), 'default.yaml')));
  for (const file of files) raw = deepMerge(raw, readYamlFile(file));
  return parseConfig(applyEnv(raw, env), files.length ? ` (in ${files.join(', ')} over defaults)` : '');
}
