/**
 * Image hardening checks after the CIS Docker Benchmark, section 4 (container images and
 * build files). Each failed check is a finding of kind `misconfiguration`; ids start with the
 * CIS recommendation number and end with what they are about, so a waiver or allowlist entry
 * covers one variable, one file or one history step, not the whole class:
 *
 * | id | CIS | severity |
 * | --- | --- | --- |
 * | `CIS-4.1-ROOT-USER` | 4.1 a user for the container has been created | medium |
 * | `CIS-4.8-SETUID:<path>` | 4.8 setuid and setgid permissions are removed | low |
 * | `CIS-4.9-ADD-URL:<step>` | 4.9 COPY is used instead of ADD (remote URL) | medium |
 * | `CIS-4.10-SECRET-ENV:<name>` | 4.10 secrets are not stored in images (ENV) | high |
 * | `CIS-4.10-SECRET-FILE:<path>` | 4.10 (well-known credential files) | high |
 *
 * Titles name the variable, file or host, never the secret value.
 */
import type { Finding, Severity } from '../types';
import type { MergedFilesystem } from './filesystem';
import type { ImageConfig } from './image';
import { secretInEnv } from './secrets';

const CIS_LINK = 'https://www.cisecurity.org/benchmark/docker';

function misconfig(id: string, severity: Severity, title: string, extra: Partial<Finding> = {}): Finding {
  return { id, aliases: [], kind: 'misconfiguration', severity, title, links: [CIS_LINK], ...extra };
}

/** Whether a config `User` value (`name`, `uid`, `uid:gid`, `name:group`) means root. */
export function runsAsRoot(user: string | undefined): boolean {
  const u = (user ?? '').trim().split(':', 1)[0] ?? '';
  return u === '' || u === 'root' || /^0+$/.test(u);
}

export function checkUser(config: ImageConfig): Finding[] {
  if (!runsAsRoot(config.config?.User)) return [];
  return [misconfig('CIS-4.1-ROOT-USER', 'medium', 'Image runs as root (no USER, or USER 0/root)')];
}

export function checkEnv(config: ImageConfig): Finding[] {
  const out: Finding[] = [];
  for (const entry of config.config?.Env ?? []) {
    const eq = entry.indexOf('=');
    const name = eq === -1 ? entry : entry.slice(0, eq);
    const match = secretInEnv(name, eq === -1 ? '' : entry.slice(eq + 1));
    if (match) {
      out.push(misconfig(`CIS-4.10-SECRET-ENV:${name}`, 'high', `Secret in environment variable ${name} (${match.kind})`));
    }
  }
  return out;
}

/** The host of the first remote URL an `ADD` step fetched, or null. Never the full URL: it may hold a token. */
function remoteAddHost(createdBy: string): string | null {
  const m = /\bADD\s+(?:--\S+\s+)*((?:https?|ftp):\/\/\S+)/i.exec(createdBy);
  if (!m?.[1]) return null;
  try {
    return new URL(m[1]).hostname;
  } catch {
    return 'an unparseable URL';
  }
}

export function checkHistory(config: ImageConfig): Finding[] {
  const out: Finding[] = [];
  (config.history ?? []).forEach((step, i) => {
    const host = step.created_by ? remoteAddHost(step.created_by) : null;
    if (host !== null) {
      out.push(misconfig(`CIS-4.9-ADD-URL:${i}`, 'medium', `ADD fetches a remote URL from ${host} (history step ${i}); use a verified download instead`));
    }
  });
  return out;
}

export function checkFiles(fs: MergedFilesystem): Finding[] {
  const out: Finding[] = [];
  for (const [path, facts] of fs.entries()) {
    if (facts.secret) {
      out.push(
        misconfig(`CIS-4.10-SECRET-FILE:/${path}`, 'high', `Credential file in the image: /${path} (${facts.secret.kind})`, {
          path: `/${path}`,
          layer: facts.layer,
        }),
      );
    }
    if (facts.setuidMode !== undefined) {
      const bits = [facts.setuidMode & 0o4000 ? 'setuid' : '', facts.setuidMode & 0o2000 ? 'setgid' : ''].filter(Boolean).join('+');
      out.push(
        misconfig(`CIS-4.8-SETUID:/${path}`, 'low', `${bits} file /${path} (mode ${(facts.setuidMode & 0o7777).toString(8)})`, {
          path: `/${path}`,
          layer: facts.layer,
        }),
      );
    }
  }
  return out;
}

export function hardeningFindings(config: ImageConfig, fs: MergedFilesystem): Finding[] {
  return [...checkUser(config), ...checkEnv(config), ...checkHistory(config), ...checkFiles(fs)];
}
