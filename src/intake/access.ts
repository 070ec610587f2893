/**
 * Who may do what, as pure functions. Teams are the isolation boundary: a request of a team
 * the caller cannot see is reported as not found (404), never as forbidden, so that its
 * existence does not leak. A missing role, on the other hand, is a plain 403.
 */
import { AppError } from '../lib/errors';
import type { Principal, Role } from '../lib/identity/types';

/** Throws FORBIDDEN unless the principal has one of `roles`. */
export function requireRole(p: Principal, roles: readonly Role[], what: string): void {
  if (!p.roles.some((r) => roles.includes(r))) {
    throw new AppError('FORBIDDEN', `${what} needs one of the roles: ${roles.join(', ')}`);
  }
}

export function hasRole(p: Principal, ...roles: Role[]): boolean {
  return p.roles.some((r) => roles.includes(r));
}

export function isMember(p: Principal, team: string): boolean {
  return p.teams.includes('*') || p.teams.includes(team);
}

/** Roles that read a team's requests and what is derived from them (every role but `ci`, which only resolves approved images). */
export const REQUEST_READ_ROLES = ['developer', 'approver', 'admin', 'auditor'] as const satisfies readonly Role[];

/** Teams whose requests the principal can read: auditors read everything. */
export function readableTeams(p: Principal): string[] | '*' {
  if (hasRole(p, 'auditor') || p.teams.includes('*')) return '*';
  return [...p.teams];
}

export function canRead(p: Principal, team: string): boolean {
  return hasRole(p, 'auditor') || isMember(p, team);
}

/** Teams whose requests the principal may decide (approvers and admins, by membership). */
export function decidableTeams(p: Principal): string[] | '*' {
  if (!hasRole(p, 'approver', 'admin')) return [];
  return p.teams.includes('*') ? '*' : [...p.teams];
}

export const TEAM_NAME = /^[a-z0-9]+(?:[._-][a-z0-9]+)*$/;
