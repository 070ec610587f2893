/**
 * The `auth` configuration (zod only, composed by lib/config-schema.ts): the tokens file, OIDC
 * for people, CI workload identity, robot accounts and role hygiene.
 */
import { z } from 'zod';
import { ROLES } from '../lib/identity/types';

/**
 * Asymmetric algorithms only: an HMAC algorithm would let anyone holding the (public) JWKS key
 * sign tokens, and `none` signs nothing.
 */
export const JWT_ALGORITHMS = ['RS256', 'RS384', 'RS512', 'PS256', 'PS384', 'PS512', 'ES256', 'ES384', 'ES512', 'EdDSA'] as const;

const LOOPBACK = new Set(['127.0.0.1', 'localhost', '[::1]']);

/** An issuer or JWKS URL: HTTPS, or plain HTTP on loopback only (tests, a local provider). */
const issuerUrl = z.string().url().refine((u) => {
  const parsed = new URL(u);
  return parsed.protocol === 'https:' || (parsed.protocol === 'http:' && LOOPBACK.has(parsed.hostname));
}, 'must be an https:// URL (http:// only on loopback)');

const groupMapping = z.strictObject({
  roles: z.array(z.enum(ROLES)).default([]),
  teams: z.array(z.string().min(1)).default([]),
});

export const oidcConfigSchema = z.strictObject({
  /** The provider's issuer URL; its `/.well-known/openid-configuration` names the JWKS. */
  issuer: issuerUrl.describe('OpenID provider of people; bearer ID or access tokens are verified against its JWKS (https, or http on loopback)'),
  /** This service's client id at the provider; the `aud` of ID tokens. */
  clientId: z.string().min(1).describe('this service\'s client id; the `aud` of ID tokens'),
  /** Environment variable holding the client secret (the dashboard's sign-in); never the secret itself. */
  clientSecretEnv: z.string().min(1).optional().describe('environment variable holding the client secret (the dashboard\'s sign-in)'),
  /** Scopes the dashboard asks for. @defaultValue ['openid', 'profile', 'groups'] */
  scopes: z.array(z.string().min(1)).default(['openid', 'profile', 'groups']).describe('scopes the dashboard asks for'),
  /** `aud` values accepted besides `clientId` (the resource indicator of access tokens). @defaultValue [] */
  audiences: z.array(z.string().min(1)).default([]).describe('`aud` values accepted besides `clientId` (access tokens\' resource)'),
  /** Claim with the user's groups (a list of strings). @defaultValue 'groups' */
  groupsClaim: z.string().min(1).default('groups').describe('claim with the user\'s groups'),
  /** Claim shown as the user's name (`sub` when absent). @defaultValue 'preferred_username' */
  usernameClaim: z.string().min(1).default('preferred_username').describe('claim shown as the user\'s name (`sub` when absent)'),
  /** Group → roles and teams, like a Kubernetes RoleBinding per namespace. @defaultValue {} */
  groups: z.record(z.string().min(1), groupMapping).default({}).describe('`<group>: {roles, teams}`: what each group grants; a user in no mapped group gets 403 `IDENTITY_UNMAPPED`'),
  /** Groups whose members are admins of every team. @defaultValue [] */
  adminGroups: z.array(z.string().min(1)).default([]).describe('groups whose members are admins of every team'),
  /** Accepted signature algorithms. @defaultValue ['RS256', 'ES256', 'PS256', 'EdDSA'] */
  algorithms: z.array(z.enum(JWT_ALGORITHMS)).min(1).default(['RS256', 'ES256', 'PS256', 'EdDSA']).describe('accepted JWT signature algorithms (asymmetric only)'),
});
export type OidcConfig = z.infer<typeof oidcConfigSchema>;

export const workloadConfigSchema = z.strictObject({
  /** The workload issuer (a cluster's service-account issuer, GitLab, GitHub Actions). */
  issuer: issuerUrl.describe('the workload issuer (https, or http on loopback)'),
  /** The `aud` the job's token must carry. */
  audience: z.string().min(1).describe('the `aud` the job\'s token must carry'),
  /** The issuer's JWKS; when unset, read from its `/.well-known/openid-configuration`. */
  jwksUrl: issuerUrl.optional().describe('the issuer\'s JWKS'),
  /**
   * Claims that must all equal these values; a dotted name reaches into objects
   * (`kubernetes.io.namespace`). At least one: an entry matching every token of an issuer
   * would admit every job of every project on that platform.
   */
  claims: z.record(z.string().min(1), z.string()).refine((c) => Object.keys(c).length > 0, 'must name at least one claim').describe('claims that must all equal these values, at least one; dotted names reach into objects (`kubernetes.io.namespace: payments-ci`)'),
  team: z.string().min(1).describe('what a matching token is granted'),
  role: z.enum(ROLES).describe('what a matching token is granted'),
  /** Accepted signature algorithms. @defaultValue ['RS256', 'ES256', 'PS256', 'EdDSA'] */
  algorithms: z.array(z.enum(JWT_ALGORITHMS)).min(1).default(['RS256', 'ES256', 'PS256', 'EdDSA']).describe('accepted JWT signature algorithms (asymmetric only)'),
});
export type WorkloadConfig = z.infer<typeof workloadConfigSchema>;

export const authConfigSchema = z.strictObject({
  /** YAML list of principals `{name, roles, teams, tokenSha256}`; reloaded when it changes. */
  tokensFile: z.string().optional().describe('YAML list of principals `{name, roles, teams, tokenSha256}` (see Identities); reloaded when it changes, a bad file keeps the last good one'),
  /** OpenID Connect for people; unset: no JWTs of people are accepted. */
  oidc: oidcConfigSchema.optional(),
  /** CI workload identity: the first entry whose issuer, audience and claims match. @defaultValue [] */
  workloads: z.array(workloadConfigSchema).default([]).describe('CI workload identity: the first entry whose issuer, audience and claims all match decides'),
  robots: z.strictObject({
    /** Longest lifetime of a robot token; expiry is always required. @defaultValue 90 */
    maxDays: z.number().int().min(1).max(3650).default(90).describe('longest lifetime of a robot token (expiry required)'),
    /** How long the previous token still works after a rotation. @defaultValue 24 */
    overlapHours: z.number().int().min(0).max(24 * 30).default(24).describe('hours the previous robot token keeps working after a rotation'),
  }).prefault({}),
  /** Principals unused this long are disabled by the hygiene job. @defaultValue 90 */
  inactiveDays: z.number().int().min(1).default(90).describe('principals unused this many days are disabled by the hygiene job'),
  /** How long the JWKS of an issuer is kept before it is fetched again (an unknown `kid` refetches sooner). @defaultValue 600 */
  jwksCacheSeconds: z.number().int().min(10).default(600).describe('how long an issuer\'s JWKS is cached (an unknown `kid` refetches it, at most every 30 s)'),
  /** Clock skew tolerated on `exp` and `nbf`. @defaultValue 30 */
  clockSkewSeconds: z.number().int().min(0).max(300).default(30).describe('clock skew tolerated on `exp` and `nbf`'),
}).prefault({});
export type AuthConfig = z.infer<typeof authConfigSchema>;
