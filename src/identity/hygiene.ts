/**
 * Role hygiene: principals nobody used for `auth.inactiveDays` are disabled and reported, as the
 * seed's team "periodically removed all unused/inactive roles". Covers robots (last use, else
 * their last rotation or creation) and everything TrackedIdentity records (tokens-file entries
 * from when they were listed, OIDC users and workloads from their last sign-in).
 */
import { AppError } from '../lib/errors';
import type { Principal } from '../lib/identity/types';
import { auditRecord, SYSTEM, type IdentityEvent, type IdentityEvents } from './events';
import type { Clock } from './jwt';
import type { PrincipalRecord, RedisPrincipalActivity } from './activity';
import type { RobotService } from './robots';

const DAY = 86_400_000;

/** A principal as `GET /v1/principals` shows it. */
export type PrincipalView = Omit<PrincipalRecord, 'disabledAt'> & {
  /** Unused for `auth.inactiveDays` or more. */
  inactive: boolean;
};

export class PrincipalService {
  constructor(
    private readonly activity: RedisPrincipalActivity,
    private readonly robots: RobotService,
    private readonly events: IdentityEvents,
    private readonly inactiveDays: number,
    private readonly clock: Clock,
  ) {}

  /**
   * Known principals; auditors and admins of every team see all, an admin of some teams only the
   * principals of those teams (teams are the isolation boundary for people too).
   */
  async list(p: Principal, options: { inactive?: boolean } = {}): Promise<PrincipalView[]> {
    if (!p.roles.some((r) => r === 'admin' || r === 'auditor')) throw new AppError('FORBIDDEN', 'listing principals needs the admin or auditor role');
    const everything = p.roles.includes('auditor') || p.teams.includes('*');
    const all = (await this.all()).filter((v) => everything || v.teams.some((t) => p.teams.includes(t)));
    return options.inactive ? all.filter((v) => v.inactive) : all;
  }

  private async all(): Promise<PrincipalView[]> {
    const cutoff = this.clock().getTime() - this.inactiveDays * DAY;
    const people = (await this.activity.all()).map((r) => ({ ...r, inactive: Date.parse(r.lastSeenAt) <= cutoff }));
    const robots = (await this.robots.all()).map((r) => {
      const lastSeenAt = r.lastUsedAt ?? r.rotatedAt ?? r.createdAt;
      return {
        subject: `robot:${r.id}`, name: r.name, source: 'robot' as const, roles: r.roles, teams: [r.team], lastSeenAt,
        disabled: r.disabled, inactive: Date.parse(lastSeenAt) <= cutoff,
      };
    });
    return [...people, ...robots].sort((a, b) => a.lastSeenAt.localeCompare(b.lastSeenAt));
  }

  /** Enables a disabled principal (not a robot: those have their own endpoint) and restarts its clock. */
  async enable(p: Principal, subject: string): Promise<void> {
    if (!p.roles.includes('admin') || !p.teams.includes('*')) throw new AppError('FORBIDDEN', 'enabling a principal needs the admin role of every team');
    const now = this.clock();
    const event: IdentityEvent = { type: 'principal.enabled', actor: p.name, target: `principal/${subject}`, details: { actorSubject: p.subject ?? null } };
    if (!(await this.activity.enable(subject, now.toISOString(), auditRecord(event, now)))) throw new AppError('NOT_FOUND', `no disabled principal ${subject}`);
    await this.events.publish({ ...event, recorded: true });
  }

  /** The scheduled job: disables what became inactive; the subjects it disabled now. */
  async disableInactive(): Promise<string[]> {
    const now = this.clock();
    const disabled: string[] = [];
    for (const v of await this.all()) {
      if (!v.inactive || v.disabled) continue;
      if (v.source === 'robot') {
        if (await this.robots.disableInactive(v.subject.slice('robot:'.length), v.lastSeenAt)) disabled.push(v.subject);
        continue;
      }
      const event: IdentityEvent = {
        type: 'principal.disabled_inactive', actor: SYSTEM, target: `principal/${v.subject}`,
        details: { name: v.name, source: v.source, lastSeenAt: v.lastSeenAt, inactiveDays: this.inactiveDays },
      };
      if (!(await this.activity.disable(v.subject, now.toISOString(), auditRecord(event, now)))) continue;
      disabled.push(v.subject);
      await this.events.publish({ ...event, recorded: true });
    }
    return disabled;
  }
}
