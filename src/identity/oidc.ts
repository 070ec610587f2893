/**
 * People's bearer JWTs (ID tokens, or JWT access tokens) from the bank's OpenID provider. The
 * groups claim decides roles and teams through `auth.oidc.groups` at every request, so a group
 * removed at the provider takes effect with the next token, not at some later login.
 */
import type { JWTPayload } from 'jose';
import { AppError } from '../lib/errors';
import type { Principal, Role } from '../lib/identity/types';
import type { OidcConfig } from './config';
import { IssuerKeys, verifyJwt, type Clock } from './jwt';

export interface JwtIssuerProvider {
  readonly issuer: string;
  /** The principal of a JWT whose `iss` is this issuer; throws an AppError for a refused one. */
  authenticateJwt(token: string): Promise<Principal>;
}

export interface JwtSettings {
  jwksCacheSeconds: number;
  clockSkewSeconds: number;
  clock: Clock;
  /** @defaultValue 30000 */
  jwksCooldownMs?: number;
}

export class OidcIdentityProvider implements JwtIssuerProvider {
  readonly issuer: string;
  private readonly keys: IssuerKeys;

  constructor(private readonly config: OidcConfig, private readonly settings: JwtSettings) {
    this.issuer = config.issuer;
    this.keys = new IssuerKeys(config.issuer, { cacheSeconds: settings.jwksCacheSeconds, cooldownMs: settings.jwksCooldownMs });
  }

  async authenticateJwt(token: string): Promise<Principal> {
    const claims = await verifyJwt(token, this.keys, {
      audiences: [this.config.clientId, ...this.config.audiences],
      algorithms: this.config.algorithms,
      clockSkewSeconds: this.settings.clockSkewSeconds,
      clock: this.settings.clock,
    });
    return this.principalOf(claims);
  }

  /** Roles and teams from the groups claim; a user in no mapped group is refused (403). */
  principalOf(claims: JWTPayload): Principal {
    const sub = claims.sub as string;
    const groups = groupsOf(claims[this.config.groupsClaim]);
    const roles = new Set<Role>();
    const teams = new Set<string>();
    for (const group of groups) {
      const mapping = this.config.groups[group];
      if (mapping) {
        mapping.roles.forEach((r) => roles.add(r));
        mapping.teams.forEach((t) => teams.add(t));
      }
      if (this.config.adminGroups.includes(group)) {
        roles.add('admin');
        teams.add('*');
      }
    }
    if (roles.size === 0) throw new AppError('IDENTITY_UNMAPPED', 'none of your identity provider groups grants a role here');
    const username = claims[this.config.usernameClaim];
    return {
      name: typeof username === 'string' && username ? username : sub,
      roles: [...roles],
      teams: [...teams],
      subject: `oidc:${this.issuer}#${sub}`,
      source: 'oidc',
      groups,
    };
  }
}

/** A list of strings, or one string (some providers send a single group that way). */
function groupsOf(value: unknown): string[] {
  if (typeof value === 'string') return [value];
  if (Array.isArray(value)) return value.filter((g): g is string => typeof g === 'string');
  return [];
}
