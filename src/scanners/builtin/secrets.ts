/**
 * Secret detection for environment variables and well-known credential files (CIS Docker
 * Benchmark 4.10, "secrets are not stored in Dockerfiles"). A match reports the *kind* of
 * secret and where it is, never the value: findings are shown to people and stored.
 */
export interface SecretMatch {
  /** e.g. `AWS access key id`, `private key`. */
  kind: string;
}

const VALUE_PATTERNS: Array<[RegExp, string]> = [
  [/-----BEGIN (?:[A-Z0-9]+ )*PRIVATE KEY-----/, 'private key'],
  [/\b(?:AKIA|ASIA)[0-9A-Z]{16}\b/, 'AWS access key id'],
  [/\bgh[pousr]_[A-Za-z0-9]{36,}\b/, 'GitHub token'],
  [/\bgithub_pat_[A-Za-z0-9_]{22,}\b/, 'GitHub token'],
  [/\bglpat-[A-Za-z0-9_-]{20,}\b/, 'GitLab token'],
  [/\bxox[abposr]-[A-Za-z0-9-]{10,}\b/, 'Slack token'],
  [/\bnpm_[A-Za-z0-9]{36}\b/, 'npm token'],
];

// A name ending like this with a non-empty value is treated as a secret; `*_FILE` names
// (Docker secrets convention: a path, not a value) do not end like this.
const SECRET_NAME = /(?:TOKEN|SECRET|SECRET_KEY|PASSWORD|PASSWD|PASSPHRASE|API_?KEY|ACCESS_KEY|PRIVATE_KEY|CREDENTIALS?)$/i;

export function secretInEnv(name: string, value: string): SecretMatch | null {
  for (const [re, kind] of VALUE_PATTERNS) if (re.test(value)) return { kind };
  if (SECRET_NAME.test(name) && value.trim() !== '') return { kind: 'credential-named variable' };
  return null;
}

/** Checks a well-known file's content; `path` is normalized (no leading slash). */
export function secretInFile(path: string, content: string): SecretMatch | null {
  if (/-----BEGIN (?:[A-Z0-9]+ )*PRIVATE KEY-----/.test(content)) return { kind: 'private key' };
  if (/(?:^|\/)\.aws\/credentials$/.test(path) && /aws_secret_access_key\s*=\s*\S/i.test(content)) {
    return { kind: 'AWS credentials' };
  }
  if (/(?:^|\/)\.npmrc$/.test(path) && /_(?:authToken|auth|password)\s*=\s*\S/.test(content)) return { kind: 'npm token' };
  if (/(?:^|\/)\.pypirc$/.test(path) && /^\s*password\s*[=:]\s*\S/im.test(content)) return { kind: 'PyPI password' };
  if (/(?:^|\/)\.docker\/config\.json$/.test(path) && /"auths"\s*:\s*\{[^}]*"auth"\s*:\s*"[^"]+"/.test(content)) {
    return { kind: 'registry credentials' };
  }
  if (/(?:^|\/)\.git-credentials$/.test(path) && /:\/\/[^:\s]+:[^@\s]+@/.test(content)) return { kind: 'git credentials' };
  if (/(?:^|\/)\.pgpass$/.test(path) && content.trim() !== '') return { kind: 'PostgreSQL password file' };
  for (const [re, kind] of VALUE_PATTERNS) if (re.test(content)) return { kind };
  return null;
}
