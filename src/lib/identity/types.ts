/**
 * Who is asking. An IdentityProvider turns a bearer token into a Principal; the tokens file
 * is the default provider, OIDC comes later behind the same interface.
 */

export const ROLES = ['developer', 'approver', 'ci', 'auditor', 'admin'] as const;
export type Role = (typeof ROLES)[number];

/** An authenticated caller. */
export interface Principal {
  name: string;
  roles: Role[];
  /** Teams the principal belongs to; `'*'` in the list means every team. */
  teams: string[];
}

/** Turns a credential into a principal. */
export interface IdentityProvider {
  /** The principal for `token`, or null when the token is unknown. Never throws for a bad token. */
  authenticate(token: string): Promise<Principal | null>;
}
