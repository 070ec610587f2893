/**
 * The tokens-file identity provider. The file (YAML or JSON) lists principals with the
 * SHA-256 hex of their token, never the token itself:
 *
 *   principals:
 *     - { name: alice, roles: [developer], teams: [payments], tokenSha256: "<64 hex>" }
 *       # optional: the same person's OIDC account, for four-eyes
 *       sameAs: ["oidc:https://login.bank.example#00u1abc"]
 *
 * (a bare list of principals is accepted too). A presented token is hashed and compared
 * with every entry in constant time, so neither timing nor an early exit tells how close a
 * guess was. {@link watchTokensFile} reloads the file when it changes.
 */
import { createHash, timingSafeEqual } from 'node:crypto';
import { readFileSync, unwatchFile, watchFile } from 'node:fs';
import YAML from 'yaml';
import { z } from 'zod';
import { ConfigError } from '../lib/config';
import { ROLES, type IdentityProvider, type Principal } from '../lib/identity/types';
import type { Logger } from '../lib/logger';

const principalSchema = z.strictObject({
  name: z.string().min(1),
  roles: z.array(z.enum(ROLES)).min(1),
  teams: z.array(z.string().min(1)).default([]),
  tokenSha256: z.string().regex(/^[a-f0-9]{64}$/, 'must be the lowercase SHA-256 hex of the token'),
  /**
   * The same person's other subjects, e.g. `oidc:<issuer>#<sub>` of their OIDC account: four-eyes
   * then knows that a request made through one cannot be approved through the other.
   */
  sameAs: z.array(z.string().regex(/^(oidc|workload|robot|tokens-file):\S+$/, 'must be a subject such as oidc:<issuer>#<sub>')).optional(),
});

const fileSchema = z.union([
  z.array(principalSchema),
  z.strictObject({ principals: z.array(principalSchema) }).transform((f) => f.principals),
]);

type FilePrincipal = z.infer<typeof principalSchema>;
type Entry = { principal: Principal; hash: Buffer };

export { sha256Hex } from '../lib/identity/tokens-file';

function entriesOf(principals: FilePrincipal[]): Entry[] {
  const names = new Set<string>();
  return principals.map(({ tokenSha256, ...p }) => {
    if (names.has(p.name)) throw new ConfigError(`auth.tokensFile: principal name '${p.name}' appears twice`);
    names.add(p.name);
    return { principal: { ...p, subject: `tokens-file:${p.name}`, source: 'tokens-file' }, hash: Buffer.from(tokenSha256, 'hex') };
  });
}

/** Reads and validates a tokens file; a problem is a ConfigError with a line naming the entry. */
export function readTokensFile(file: string): FilePrincipal[] {
  let raw: unknown;
  try {
    raw = YAML.parse(readFileSync(file, 'utf8'));
  } catch (err) {
    throw new ConfigError(`auth.tokensFile: cannot read ${file}: ${(err as NodeJS.ErrnoException).code ?? (err as Error).message.split('\n')[0]}`);
  }
  const parsed = fileSchema.safeParse(raw ?? []);
  if (!parsed.success) {
    const issue = parsed.error.issues[0];
    throw new ConfigError(`auth.tokensFile: ${file}: ${issue.path.join('.') || '(root)'}: ${issue.message}`);
  }
  return parsed.data;
}

export class TokensFileIdentityProvider implements IdentityProvider {
  private entries: Entry[];
  /** Why the last reload was refused (the previous list stayed); cleared by a good reload. */
  lastReloadError?: string;

  constructor(principals: FilePrincipal[]) {
    this.entries = entriesOf(principals);
  }

  /** Reads and validates the file; a problem stops the process with a line naming the entry. */
  static fromFile(file: string): TokensFileIdentityProvider {
    return new TokensFileIdentityProvider(readTokensFile(file));
  }

  /** Swaps in a new list at once (validated first: a bad list leaves the current one). */
  replace(principals: FilePrincipal[]): void {
    this.entries = entriesOf(principals);
  }

  /** `subject` and every subject an entry links with it (its own subject and its `sameAs`). */
  linkedSubjects(subject: string): string[] {
    const out = new Set([subject]);
    for (const { principal } of this.entries) {
      const same = [principal.subject!, ...(principal.sameAs ?? [])];
      if (same.includes(subject)) same.forEach((s) => out.add(s));
    }
    return [...out];
  }

  /** The principals the file lists (for role hygiene). */
  principals(): Principal[] {
    return this.entries.map((e) => ({ ...e.principal }));
  }

  async authenticate(token: string): Promise<Principal | null> {
    if (!token) return null;
    return this.byTokenSha256(createHash('sha256').update(token, 'utf8').digest('hex'));
  }

  /**
   * The principal of the current entry whose `tokenSha256` is `sha256` (lowercase hex), or null:
   * how a console session made from a token finds its entry again at each request (the session
   * keeps this hash, which the file already holds, never the token).
   */
  byTokenSha256(sha256: string): Principal | null {
    if (!/^[a-f0-9]{64}$/.test(sha256)) return null;
    const presented = Buffer.from(sha256, 'hex');
    let found: Principal | null = null;
    // Every entry is compared, match or not, so the time taken does not depend on where (or
    // whether) the match is.
    for (const e of this.entries) {
      if (timingSafeEqual(presented, e.hash) && found === null) found = e.principal;
    }
    return found ? { ...found, roles: [...found.roles], teams: [...found.teams], ...(found.sameAs ? { sameAs: [...found.sameAs] } : {}) } : null;
  }
}

/**
 * Reloads the file when its modification time or size changes (stat polling, which also sees a
 * file replaced by rename, as config management tools do). A file that fails validation is
 * logged and the last good list stays in force: a typo must not lock everybody out or in.
 */
export function watchTokensFile(file: string, provider: TokensFileIdentityProvider, logger: Logger, intervalMs = 1000, onReload?: () => void): { stop(): void } {
  const listener = (curr: { mtimeMs: number; size: number }, prev: { mtimeMs: number; size: number }): void => {
    if (curr.mtimeMs === prev.mtimeMs && curr.size === prev.size) return;
    try {
      provider.replace(readTokensFile(file));
      provider.lastReloadError = undefined;
      logger.info({ file, principals: provider.principals().length }, 'tokens file reloaded');
      onReload?.();
    } catch (err) {
      provider.lastReloadError = (err as Error).message;
      logger.error({ file, error: { message: (err as Error).message } }, 'tokens file not reloaded: keeping the previous principals');
    }
  };
  watchFile(file, { interval: intervalMs, persistent: false }, listener);
  return { stop: () => unwatchFile(file, listener) };
}
