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
    return oidcPrincipal(this.config, claims);
  }
}

/**
 * The principal of a person's verified claims (a bearer JWT, or the ID token of a console sign-in
 * or refresh): roles and teams from the groups claim through {@link mapGroups}; a user in no
 * mapped group is refused with 403 IDENTITY_UNMAPPED.
 */
export function oidcPrincipal(config: OidcConfig, claims: Record<string, unknown>): Principal {
  const sub = claims.sub as string;
  const groups = groupsOf(claims[config.groupsClaim]);
  const { roles, teams, mapped, approverGroups } = mapGroups(config, groups);
  if (roles.length === 0) throw new AppError('IDENTITY_UNMAPPED', 'none of your identity provider groups grants a role here');
  const username = claims[config.usernameClaim];
  return {
    name: typeof username === 'string' && username ? username : sub,
    roles,
    teams,
    subject: `oidc:${config.issuer}#${sub}`,
    source: 'oidc',
    groups: mapped,
    approverGroups,
  };
}

/**
 * The roles and teams a user's groups give through `auth.oidc.groups` and `adminGroups`: one
 * mapping for bearer JWTs and the console's sign-in (src/identity/oidc-login.ts). `mapped` are
 * the groups that gave something (an `Everyone` group the provider also sends is left out);
 * `approverGroups` those that made the user an approver or admin.
 */
export function mapGroups(config: Pick<OidcConfig, 'groups' | 'adminGroups'>, groups: readonly string[]): { roles: Role[]; teams: string[]; mapped: string[]; approverGroups: string[] } {
  const roles = new Set<Role>();
  const teams = new Set<string>();
  const mapped: string[] = [];
  const approverGroups: string[] = [];
  for (const group of new Set(groups)) {
    const mapping = Object.hasOwn(config.groups, group) ? config.groups[group] : undefined;
    const admin = config.adminGroups.includes(group);
    if (mapping) {
      mapping.roles.forEach((r) => roles.add(r));
      mapping.teams.forEach((t) => teams.add(t));
    }
    if (admin) {
      roles.add('admin');
      teams.add('*');
    }
    if (admin || (mapping && (mapping.roles.length || mapping.teams.length))) mapped.push(group);
    if (admin || mapping?.roles.some((r) => r === 'approver' || r === 'admin')) approverGroups.push(group);
  }
  return { roles: [...roles], teams: [...teams], mapped, approverGroups };
}

/** A list of strings, or one string (some providers send a single group that way). */
export function groupsOf(value: unknown): string[] {
  if (typeof value === 'string') return [value];
  if (Array.isArray(value)) return value.filter((g): g is string => typeof g === 'string');
  return [];
}

/**
 * The approving groups of a principal for four-eyes (`policy.approvals.distinctGroups`): those
 * its provider computed, else, for an OIDC principal that kept only its groups (a console
 * session), those groups mapped again with `auth.oidc`.
 */
export function approverGroupsOf(config: Pick<OidcConfig, 'groups' | 'adminGroups'> | undefined): (p: Principal) => string[] {
  return (p) => p.approverGroups ?? (config && p.source === 'oidc' && p.groups ? mapGroups(config, p.groups).approverGroups : []);
}
