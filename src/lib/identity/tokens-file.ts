/**
 * The tokens-file identity provider. The file (YAML or JSON) lists principals with the
 * SHA-256 hex of their token, never the token itself:
 *
 *   principals:
 *     - { name: alice, roles: [developer], teams: [payments], tokenSha256: "<64 hex>" }
 *
 * (a bare list of principals is accepted too). A presented token is hashed and compared
 * with every entry in constant time, so neither timing nor an early exit tells how close a
 * guess was.
 */
import { createHash, timingSafeEqual } from 'node:crypto';
import { readFileSync } from 'node:fs';
import YAML from 'yaml';
import { z } from 'zod';
import { ConfigError } from '../config';
import { ROLES, type IdentityProvider, type Principal } from './types';

const principalSchema = z.strictObject({
  name: z.string().min(1),
  roles: z.array(z.enum(ROLES)).min(1),
  teams: z.array(z.string().min(1)).default([]),
  tokenSha256: z.string().regex(/^[a-f0-9]{64}$/, 'must be the lowercase SHA-256 hex of the token'),
});

const fileSchema = z.union([
  z.array(principalSchema),
  z.strictObject({ principals: z.array(principalSchema) }).transform((f) => f.principals),
]);

type Entry = { principal: Principal; hash: Buffer };

export function sha256Hex(token: string): string {
  return createHash('sha256').update(token, 'utf8').digest('hex');
}

export class TokensFileIdentityProvider implements IdentityProvider {
  private readonly entries: Entry[];

  constructor(principals: Array<Principal & { tokenSha256: string }>) {
    this.entries = principals.map(({ tokenSha256, ...principal }) => ({ principal, hash: Buffer.from(tokenSha256, 'hex') }));
    const names = new Set<string>();
    for (const e of this.entries) {
      if (names.has(e.principal.name)) throw new ConfigError(`auth.tokensFile: principal name '${e.principal.name}' appears twice`);
      names.add(e.principal.name);
    }
  }

  /** Reads and validates the file; a problem stops the process with a line naming the entry. */
  static fromFile(file: string): TokensFileIdentityProvider {
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
    return new TokensFileIdentityProvider(parsed.data);
  }

  async authenticate(token: string): Promise<Principal | null> {
    if (!token) return null;
    const presented = createHash('sha256').update(token, 'utf8').digest();
    let found: Principal | null = null;
    // Every entry is compared, match or not, so the time taken does not depend on where (or
    // whether) the match is.
    for (const e of this.entries) {
      if (timingSafeEqual(presented, e.hash) && found === null) found = e.principal;
    }
    return found ? { ...found, roles: [...found.roles], teams: [...found.teams] } : null;
  }
}
