/**
 * Who is asking. An IdentityProvider turns a bearer token into a Principal. The implementations
 * (tokens file, OIDC, CI workload identity, robot accounts) live in src/identity/; this file is
 * the contract every layer imports, so it stays in lib (which imports no module).
 */

export const ROLES = ['developer', 'approver', 'ci', 'auditor', 'admin'] as const;
export type Role = (typeof ROLES)[number];

/** Where a principal's roles and teams come from. */
export const PRINCIPAL_SOURCES = ['tokens-file', 'oidc', 'workload', 'robot'] as const;
export type PrincipalSource = (typeof PRINCIPAL_SOURCES)[number];

/** An authenticated caller. */
export interface Principal {
  /** A display name (tokens-file name, OIDC username, robot name): never compare it for four-eyes. */
  name: string;
  roles: Role[];
  /** Teams the principal belongs to; `'*'` in the list means every team. */
  teams: string[];
  /**
   * A stable identifier of the person or workload, unique across sources: `tokens-file:<name>`,
   * `oidc:<issuer>#<sub>`, `workload:<issuer>#<sub>`, `robot:<id>`. Four-eyes and role hygiene
   * compare this, never `name`. Every provider in src/identity sets it; it is optional only so
   * that principals built by hand (tests, the pipeline) stay valid: use {@link subjectOf}.
   */
  subject?: string;
  /** The provider that authenticated the principal. */
  source?: PrincipalSource;
  /** The identity-provider groups that gave the roles and teams (OIDC only). */
  groups?: string[];
  /**
   * The groups among `groups` that grant the approver or admin role: what
   * `policy.approvals.distinctGroups` compares (a group that only makes someone a developer says
   * nothing about where their approval comes from).
   */
  approverGroups?: string[];
  /**
   * Other subjects of the same person, declared by an administrator (a tokens-file entry's
   * `sameAs: ['oidc:<issuer>#<sub>']`): four-eyes treats each as this person.
   */
  sameAs?: string[];
}

/**
 * The subjects an administrator declared to be the same person as `subject` (a tokens-file
 * entry's `sameAs`, read from the current file), `subject` included. Four-eyes expands both sides
 * with it, so a link added after a request was made still counts.
 */
export type SubjectLinks = (subject: string) => string[];

/** The stable subject of a principal; one built by hand without one falls back to its name. */
export function subjectOf(p: Principal): string {
  return p.subject ?? `tokens-file:${p.name}`;
}

/** Turns a credential into a principal. */
export interface IdentityProvider {
  /**
   * The principal for `token`, or null when no provider recognises the token. A token a provider
   * recognises but refuses (expired JWT, wrong audience, disabled robot…) throws an AppError with
   * a 401 code saying why (`TOKEN_EXPIRED`, …), or 403 `IDENTITY_UNMAPPED` when a valid identity
   * maps to no role; never any other error for a bad token.
   */
  authenticate(token: string): Promise<Principal | null>;
}
