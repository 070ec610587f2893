/**
 * CI workload identity: the OIDC tokens that CI platforms and clusters hand their jobs
 * (Kubernetes ServiceAccount tokens, GitLab CI `id_token`, GitHub Actions), mapped by claims to
 * one team and role, so CI keeps no stored secret. The first `auth.workloads` entry whose
 * issuer, audience and claims all match decides.
 */
import type { JWTPayload } from 'jose';
import { AppError } from '../lib/errors';
import type { Principal } from '../lib/identity/types';
import type { WorkloadConfig } from './config';
import { IssuerKeys, verifyJwt } from './jwt';
import type { JwtIssuerProvider, JwtSettings } from './oidc';

/**
 * A claim by name: the exact key first (`kubernetes.io` is itself a key), else a dotted path
 * into objects, trying the longest key prefix at each step.
 */
export function claimAt(claims: Record<string, unknown>, name: string): unknown {
  if (Object.hasOwn(claims, name)) return claims[name];
  const parts = name.split('.');
  for (let i = parts.length - 1; i >= 1; i--) {
    const head = parts.slice(0, i).join('.');
    const inner = claims[head];
    if (Object.hasOwn(claims, head) && inner && typeof inner === 'object' && !Array.isArray(inner)) {
      const found = claimAt(inner as Record<string, unknown>, parts.slice(i).join('.'));
      if (found !== undefined) return found;
    }
  }
  return undefined;
}

/** All workload entries of one issuer, verified with that issuer's keys. */
export class WorkloadIssuer implements JwtIssuerProvider {
  private readonly keys: IssuerKeys;

  constructor(readonly issuer: string, private readonly entries: WorkloadConfig[], private readonly settings: JwtSettings) {
    this.keys = new IssuerKeys(issuer, { jwksUrl: entries.find((e) => e.jwksUrl)?.jwksUrl, cacheSeconds: settings.jwksCacheSeconds, cooldownMs: settings.jwksCooldownMs });
  }

  async authenticateJwt(token: string): Promise<Principal> {
    const claims = await verifyJwt(token, this.keys, {
      audiences: [...new Set(this.entries.map((e) => e.audience))],
      algorithms: [...new Set(this.entries.flatMap((e) => e.algorithms))],
      clockSkewSeconds: this.settings.clockSkewSeconds,
      clock: this.settings.clock,
    });
    return this.principalOf(claims);
  }

  principalOf(claims: JWTPayload): Principal {
    const aud = Array.isArray(claims.aud) ? claims.aud : [claims.aud];
    const entry = this.entries.find((e) => aud.includes(e.audience)
      && Object.entries(e.claims).every(([name, want]) => claimAt(claims, name) === want));
    if (!entry) throw new AppError('IDENTITY_UNMAPPED', 'this workload token matches no auth.workloads entry');
    const sub = claims.sub as string;
    return { name: sub, roles: [entry.role], teams: [entry.team], subject: `workload:${this.issuer}#${sub}`, source: 'workload' };
  }
}

/** One provider per issuer named in `auth.workloads`. */
export function workloadIssuers(entries: WorkloadConfig[], settings: JwtSettings): WorkloadIssuer[] {
  const byIssuer = new Map<string, WorkloadConfig[]>();
  for (const e of entries) byIssuer.set(e.issuer, [...(byIssuer.get(e.issuer) ?? []), e]);
  return [...byIssuer].map(([issuer, list]) => new WorkloadIssuer(issuer, list, settings));
}
