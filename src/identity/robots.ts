/**
 * Robot accounts: tokens for automation that has no OIDC identity of its own. Every robot
 * expires (at most `auth.robots.maxDays`; Harbor users asked to forbid never-expiring robots,
 * goharbor/harbor #19454); a rotation issues a new token, keeps the previous one for
 * `overlapHours` and restarts the clock (#22256); the hygiene job warns 14 days and 1 day before
 * expiry and disables expired robots (#16850). Tokens are `pcr_<id>_<secret>`, shown once and
 * stored as the SHA-256 of the secret. Robots cannot approve or administer: four-eyes is about
 * people, and a leaked robot token must not grant more than CI has.
 *
 * Nobody hands out more than they reach: an `auditor` robot reads every team, so only an admin
 * of every team (`teams: ["*"]`) creates, rotates or enables one. And a robot acts for the
 * people who were handed its tokens (its creator, each rotator): they are its `sameAs`, so four-eyes
 * refuses them the approval of a request the robot made.
 */
import { randomBytes, timingSafeEqual } from 'node:crypto';
import { AppError } from '../lib/errors';
import { sha256Hex } from '../lib/identity/tokens-file';
import { subjectOf, type IdentityProvider, type Principal, type Role } from '../lib/identity/types';
import { auditRecord, SYSTEM, type IdentityEvent, type IdentityEvents } from './events';
import type { Clock } from './jwt';
import type { RedisRobotStore, Robot } from './robot-store';

export const ROBOT_ROLES = ['ci', 'developer', 'auditor'] as const satisfies readonly Role[];
const DAY = 86_400_000;
/** A robot token: `pcr_<id>_<secret>`, the secret stored as its SHA-256. */
export const ROBOT_TOKEN = /^pcr_([a-f0-9]{16})_([A-Za-z0-9_-]{43})$/;
/** Expiry warnings, in days before expiry. */
export const WARN_DAYS = [14, 1] as const;
/** lastUsedAt is written at most this often per robot (per process). */
const TOUCH_EVERY_MS = 60_000;

export interface RobotSettings { maxDays: number; overlapHours: number }

/** A robot as the API shows it: never a token hash. */
export interface RobotView {
  id: string; name: string; team: string; roles: Role[]; createdAt: string; createdBy: string;
  expiresAt: string; expiresInDays: number; rotatedAt?: string; disabled: boolean; disabledReason?: string; lastUsedAt?: string;
}

export interface NewRobot { name: string; team: string; roles: Role[]; expiresInDays: number }

/** Admins act on robots of their own teams only; a robot of another team is not found (404). */
function canAdminister(p: Principal, team: string): boolean {
  return p.roles.includes('admin') && (p.teams.includes('*') || p.teams.includes(team));
}

/** Roles that reach beyond the robot's own team: an auditor reads every team. */
const EVERY_TEAM_ROLES: readonly Role[] = ['auditor'];

/** Refuses `p` a token (or a token's return to use) that would reach teams `p` does not administer. */
function checkGrant(p: Principal, roles: readonly Role[], what: string): void {
  const wide = roles.filter((r) => EVERY_TEAM_ROLES.includes(r));
  if (wide.length && !p.teams.includes('*')) {
    throw new AppError('FORBIDDEN', `${what} a robot holding ${wide.join(', ')} (which reads every team) needs the admin role of every team (teams: ["*"])`);
  }
}

/** The subjects a robot acts for: whoever was handed one of its tokens. */
function holdersOf(r: Robot): string[] {
  return r.holders?.length ? [...r.holders] : [r.createdBy];
}

export class RobotService implements IdentityProvider {
  private readonly touched = new Map<string, number>();

  constructor(private readonly store: RedisRobotStore, private readonly events: IdentityEvents, private readonly settings: RobotSettings, private readonly clock: Clock) {}

  private now(): Date { return this.clock(); }

  private view(r: Robot, lastUsedAt?: string): RobotView {
    const { tokens: _tokens, warned: _warned, holders: _holders, ...rest } = r;
    return lastUsedAt ? { ...rest, lastUsedAt } : rest;
  }

  private checkLifetime(days: number): void {
    if (!Number.isInteger(days) || days < 1 || days > this.settings.maxDays) {
      throw new AppError('INVALID_REQUEST', `expiresInDays must be a whole number from 1 to ${this.settings.maxDays} (auth.robots.maxDays)`);
    }
  }

  private async found(p: Principal, id: string): Promise<Robot> {
    if (!p.roles.includes('admin')) throw new AppError('FORBIDDEN', 'managing robot accounts needs the admin role');
    const robot = await this.store.get(id);
    if (!robot || !canAdminister(p, robot.team)) throw new AppError('NOT_FOUND', `no robot ${id}`);
    return robot;
  }

  private newSecret(id: string): { token: string; sha256: string } {
    const secret = randomBytes(32).toString('base64url');
    return { token: `pcr_${id}_${secret}`, sha256: sha256Hex(secret) };
  }

  /** Creates a robot; its token is in the answer and nowhere else. */
  async create(p: Principal, input: NewRobot): Promise<{ robot: RobotView; token: string }> {
    if (!canAdminister(p, input.team)) throw new AppError('FORBIDDEN', `creating a robot of team ${input.team} needs the admin role in that team`);
    this.checkLifetime(input.expiresInDays);
    const refused = input.roles.filter((r) => !(ROBOT_ROLES as readonly Role[]).includes(r));
    if (refused.length) throw new AppError('INVALID_REQUEST', `robots cannot hold the roles ${refused.join(', ')} (only ${ROBOT_ROLES.join(', ')})`);
    checkGrant(p, input.roles, 'creating');
    const id = randomBytes(8).toString('hex');
    const { token, sha256 } = this.newSecret(id);
    const now = this.now();
    const robot: Robot = {
      id, name: input.name, team: input.team, roles: [...new Set(input.roles)], createdAt: now.toISOString(), createdBy: subjectOf(p), holders: [subjectOf(p)],
      expiresInDays: input.expiresInDays, expiresAt: new Date(now.getTime() + input.expiresInDays * DAY).toISOString(),
      disabled: false, tokens: [{ sha256 }], warned: [],
    };
    const created = this.event(p, 'robot.created', robot, { expiresAt: robot.expiresAt, roles: robot.roles });
    if (!(await this.store.create(robot, auditRecord(created, now)))) throw new AppError('CONFLICT', `team ${input.team} already has a robot named ${input.name}`);
    await this.announce(created);
    return { robot: this.view(robot), token };
  }

  /** A new token; the previous one works `overlapHours` more; the lifetime restarts. */
  async rotate(p: Principal, id: string, expiresInDays?: number): Promise<{ robot: RobotView; token: string }> {
    checkGrant(p, (await this.found(p, id)).roles, 'rotating');
    if (expiresInDays !== undefined) this.checkLifetime(expiresInDays);
    const { token, sha256 } = this.newSecret(id);
    const now = this.now();
    const overlapUntil = new Date(now.getTime() + this.settings.overlapHours * 3_600_000).toISOString();
    const rotated = (r: Robot): IdentityEvent => this.event(p, 'robot.rotated', r, { expiresAt: r.expiresAt, previousValidUntil: this.settings.overlapHours > 0 ? overlapUntil : now.toISOString() });
    const robot = await this.store.update(id, (r) => {
      const days = expiresInDays ?? r.expiresInDays;
      const current = r.tokens.find((t) => !t.validUntil);
      return {
        ...r, expiresInDays: days, expiresAt: new Date(now.getTime() + days * DAY).toISOString(), rotatedAt: now.toISOString(), warned: [],
        holders: [...new Set([...holdersOf(r), subjectOf(p)])],
        // Only the token being replaced keeps working for the overlap; older ones end now.
        tokens: [{ sha256 }, ...(current && this.settings.overlapHours > 0 ? [{ sha256: current.sha256, validUntil: overlapUntil }] : [])],
      };
    }, (next) => auditRecord(rotated(next), now));
    if (!robot) throw new AppError('NOT_FOUND', `no robot ${id}`);
    await this.announce(rotated(robot));
    return { robot: this.view(robot), token };
  }

  async setDisabled(p: Principal, id: string, disabled: boolean): Promise<RobotView> {
    const found = await this.found(p, id);
    // Disabling only takes power away; enabling gives it back, as a grant does.
    if (!disabled) checkGrant(p, found.roles, 'enabling');
    const changed = (r: Robot): IdentityEvent => this.event(p, disabled ? 'robot.disabled' : 'robot.enabled', r, {});
    const robot = await this.store.update(id, (r) => ({ ...r, disabled, disabledReason: disabled ? 'admin' : undefined }), (next) => auditRecord(changed(next), this.now()));
    if (!robot) throw new AppError('NOT_FOUND', `no robot ${id}`);
    await this.announce(changed(robot));
    return this.view(robot);
  }

  async delete(p: Principal, id: string): Promise<void> {
    const robot = await this.found(p, id);
    const deleted = this.event(p, 'robot.deleted', robot, {});
    if (!(await this.store.delete(robot, auditRecord(deleted, this.now())))) throw new AppError('NOT_FOUND', `no robot ${id}`);
    await this.announce(deleted);
  }

  async list(p: Principal): Promise<RobotView[]> {
    if (!p.roles.includes('admin')) throw new AppError('FORBIDDEN', 'listing robot accounts needs the admin role');
    const robots = (await this.store.list()).filter((r) => canAdminister(p, r.team));
    const used = await this.store.lastUsed(robots.map((r) => r.id));
    return robots.sort((a, b) => a.team.localeCompare(b.team) || a.name.localeCompare(b.name)).map((r) => this.view(r, used.get(r.id)));
  }

  /** Every robot with its last use, for role hygiene (no access check: the job's own call). */
  async all(): Promise<RobotView[]> {
    const robots = await this.store.list();
    const used = await this.store.lastUsed(robots.map((r) => r.id));
    return robots.map((r) => this.view(r, used.get(r.id)));
  }

  /** The principal of a robot token; null for a token that is not a robot's or names no robot. */
  async authenticate(token: string): Promise<Principal | null> {
    const m = ROBOT_TOKEN.exec(token);
    if (!m) return null;
    const principal = await this.principalOf(m[1]!, sha256Hex(m[2]!));
    if (principal) await this.touch(m[1]!, this.now());
    return principal;
  }

  /**
   * The principal of robot `id` for a token secret whose SHA-256 is `sha256` (hex): what a bearer
   * token authenticates as, and how a console session made from one finds it again
   * (./session-check.ts, which keeps the hash, never the token). Null when no such robot or no
   * token of it matches (or its rotation overlap ended).
   * @throws AppError PRINCIPAL_DISABLED, TOKEN_EXPIRED
   */
  async principalOf(id: string, sha256: string): Promise<Principal | null> {
    const robot = await this.store.get(id);
    if (!robot) return null;
    const now = this.now();
    const presented = Buffer.from(sha256, 'hex');
    let matched = false;
    for (const t of robot.tokens) {
      const ok = timingSafeEqual(presented, Buffer.from(t.sha256, 'hex')) && (!t.validUntil || Date.parse(t.validUntil) > now.getTime());
      matched ||= ok;
    }
    if (!matched) return null;
    if (robot.disabled) throw new AppError('PRINCIPAL_DISABLED', `robot ${robot.name} is disabled`);
    if (Date.parse(robot.expiresAt) <= now.getTime()) throw new AppError('TOKEN_EXPIRED', `the token of robot ${robot.name} has expired`);
    return { name: robot.name, roles: [...robot.roles], teams: [robot.team], subject: `robot:${robot.id}`, source: 'robot', sameAs: holdersOf(robot) };
  }

  private async touch(id: string, now: Date): Promise<void> {
    const last = this.touched.get(id);
    if (last !== undefined && now.getTime() - last < TOUCH_EVERY_MS && now.getTime() >= last) return;
    this.touched.set(id, now.getTime());
    await this.store.touch(id, now.toISOString());
  }

  /**
   * The scheduled part: warns 14 days and 1 day before expiry (once each per lifetime) and
   * disables robots that expired. Returns the events published.
   */
  async checkExpiry(): Promise<string[]> {
    const now = this.now().getTime();
    const done: string[] = [];
    for (const r of await this.store.list()) {
      if (r.disabled) continue;
      const left = Date.parse(r.expiresAt) - now;
      // `changed` is decided inside the atomic update, so two workers running the job at once
      // publish each event once.
      let changed = false;
      if (left <= 0) {
        const expired = (x: Robot): IdentityEvent => this.event(null, 'robot.expired', x, { expiresAt: x.expiresAt });
        const robot = await this.store.update(r.id, (x) => {
          changed = !x.disabled;
          return changed ? { ...x, disabled: true, disabledReason: 'expired' } : x;
        }, (next) => (changed ? auditRecord(expired(next), this.now()) : null));
        if (robot && changed) {
          await this.announce(expired(robot));
          done.push(`robot.expired ${r.id}`);
        }
        continue;
      }
      const due = WARN_DAYS.filter((d) => left <= d * DAY && !r.warned.includes(d));
      if (due.length === 0) continue;
      // The nearest threshold only: a robot created with 1 day left gets one warning, not two.
      const days = Math.min(...due);
      const expiring = (x: Robot): IdentityEvent => this.event(null, 'robot.expiring', x, { daysBefore: days, expiresAt: x.expiresAt });
      const robot = await this.store.update(r.id, (x) => {
        changed = x.expiresAt === r.expiresAt && due.some((d) => !x.warned.includes(d));
        return changed ? { ...x, warned: [...new Set([...x.warned, ...due])] } : x;
      }, (next) => (changed ? auditRecord(expiring(next), this.now()) : null));
      if (robot && changed) {
        await this.announce(expiring(robot));
        done.push(`robot.expiring ${r.id} ${days}`);
      }
    }
    return done;
  }

  /** Disables a robot for inactivity (the hygiene job). */
  async disableInactive(id: string, lastUsedAt: string): Promise<boolean> {
    let changed = false;
    const inactive = (x: Robot): IdentityEvent => this.event(null, 'robot.disabled_inactive', x, { lastUsedAt });
    const robot = await this.store.update(id, (x) => {
      changed = !x.disabled;
      return changed ? { ...x, disabled: true, disabledReason: 'inactive' } : x;
    }, (next) => (changed ? auditRecord(inactive(next), this.now()) : null));
    if (!robot || !changed) return false;
    await this.announce(inactive(robot));
    return true;
  }

  private event(p: Principal | null, type: string, r: Robot, details: Record<string, unknown>): IdentityEvent {
    return {
      type, actor: p ? p.name : SYSTEM, target: `robot/${r.id}`,
      details: { ...details, name: r.name, team: r.team, ...(p ? { actorSubject: subjectOf(p) } : {}) },
    };
  }

  /** The audit record went in with the change; the bus tells the other subscribers (webhooks, metrics). */
  private async announce(event: IdentityEvent): Promise<void> {
    await this.events.publish({ ...event, recorded: true });
  }
}
