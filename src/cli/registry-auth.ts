/**
 * Registry credentials for `copy` and `inspect` without putting a secret on the command line:
 * `--*-creds-env VAR` names an environment variable holding `user:password`, and otherwise the
 * containers auth file is read as skopeo and podman do (containers-auth.json(5)): --authfile,
 * $REGISTRY_AUTH_FILE, $XDG_RUNTIME_DIR/containers/auth.json, ~/.config/containers/auth.json,
 * then Docker's $DOCKER_CONFIG/config.json (~/.docker/config.json). Credential helpers are not run.
 */
import { existsSync, readFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import type { Credentials } from '../registry';
import { CliError, EXIT, usageError } from './common';

export function credentialsFromEnv(command: string, flag: string, name: string, env: NodeJS.ProcessEnv = process.env): Credentials {
  const value = env[name];
  if (!value) throw usageError(command, `${flag} ${name}: the variable is not set`);
  const i = value.indexOf(':');
  if (i <= 0) throw usageError(command, `${flag} ${name}: the variable must hold user:password`);
  return { username: value.slice(0, i), password: value.slice(i + 1) };
}

/** The auth files to read, first match wins. */
export function authFiles(explicit: string | undefined, env: NodeJS.ProcessEnv = process.env): string[] {
  if (explicit) return [explicit];
  const home = env.HOME || os.homedir();
  return [
    env.REGISTRY_AUTH_FILE,
    env.XDG_RUNTIME_DIR && path.join(env.XDG_RUNTIME_DIR, 'containers/auth.json'),
    path.join(env.XDG_CONFIG_HOME || path.join(home, '.config'), 'containers/auth.json'),
    path.join(env.DOCKER_CONFIG || path.join(home, '.docker'), 'config.json'),
  ].filter((f): f is string => Boolean(f));
}

/** Keys a registry may be stored under (Docker Hub's legacy URL key included). */
function keysFor(host: string): string[] {
  const keys = [host, `https://${host}`, `http://${host}`];
  if (host === 'docker.io') keys.push('https://index.docker.io/v1/', 'index.docker.io', 'registry-1.docker.io');
  return keys;
}

export function credentialsFromAuthFile(host: string, explicit?: string, env: NodeJS.ProcessEnv = process.env): Credentials | undefined {
  for (const file of authFiles(explicit, env)) {
    if (!existsSync(file)) {
      if (explicit) throw new CliError(`--authfile ${file}: no such file`, EXIT.USAGE);
      continue;
    }
    let auths: Record<string, { auth?: string }> | undefined;
    try {
      auths = (JSON.parse(readFileSync(file, 'utf8')) as { auths?: Record<string, { auth?: string }> }).auths;
    } catch {
      throw new CliError(`${file} is not valid JSON`, EXIT.USAGE, 'fix or move the file, or pass --authfile');
    }
    for (const key of keysFor(host)) {
      const auth = auths?.[key]?.auth;
      if (!auth) continue;
      const plain = Buffer.from(auth, 'base64').toString('utf8');
      const i = plain.indexOf(':');
      if (i > 0) return { username: plain.slice(0, i), password: plain.slice(i + 1) };
    }
  }
  return undefined;
}

/** Whether an error says "this port does not speak TLS" (plain HTTP answered a TLS hello). */
export function looksLikePlainHttp(err: unknown): boolean {
  const parts: string[] = [];
  for (let e: unknown = err, i = 0; e && i < 5; e = (e as { cause?: unknown }).cause, i++) {
    parts.push(String((e as { code?: unknown }).code ?? ''), String((e as { message?: unknown }).message ?? ''));
  }
  return /EPROTO|wrong version number|ERR_SSL_WRONG_VERSION_NUMBER|packet length too long/i.test(parts.join(' '));
}
