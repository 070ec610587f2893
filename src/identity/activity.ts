/**
 * Role hygiene for every principal that is not a robot (tokens-file entries, OIDC users,
 * workloads): when each was last seen, and which are disabled. `TrackedIdentity` wraps the
 * provider chain: a disabled subject is refused (401 PRINCIPAL_DISABLED) whatever its token, and
 * a use is recorded at most once a minute per subject and process. Robots keep their own
 * `lastUsedAt` and disabled flag (robots.ts).
 */
import type Redis from 'ioredis';
import { AppError } from '../lib/errors';
import type { IdentityProvider, Principal, PrincipalSource, Role } from '../lib/identity/types';
import { auditOutboxKey } from './events';
import type { Clock } from './jwt';

// KEYS: disabled hash, outbox; ARGV: subject, time, audit record. 1 when this call disabled it.
const DISABLE = `if redis.call('HSETNX', KEYS[1], ARGV[1], ARGV[2]) == 0 then return 0 end
redis.call('XADD', KEYS[2], '*', 'record', ARGV[3])
return 1`;

// KEYS: disabled hash, seen hash, outbox; ARGV: subject, time, audit record. 1 when it was disabled.
const ENABLE = `if redis.call('HDEL', KEYS[1], ARGV[1]) == 0 then return 0 end
redis.call('HSET', KEYS[2], ARGV[1], ARGV[2])
redis.call('XADD', KEYS[3], '*', 'record', ARGV[3])
return 1`;

const TOUCH_EVERY_MS = 60_000;

export interface PrincipalRecord {
  subject: string;
  name: string;
  source: PrincipalSource;
  roles: Role[];
  teams: string[];
  /** Last authenticated use; for a tokens-file entry never used, when it was first listed. */
  lastSeenAt: string;
  disabled: boolean;
  disabledAt?: string;
}

type Info = Pick<PrincipalRecord, 'name' | 'source' | 'roles' | 'teams'>;

export class RedisPrincipalActivity {
  constructor(private readonly redis: Redis, private readonly prefix: string) {}

  private get seen(): string { return `${this.prefix}:principals:seen`; }
  private get info(): string { return `${this.prefix}:principals:info`; }
  private get disabledKey(): string { return `${this.prefix}:principals:disabled`; }

  async seenAt(p: Principal, subject: string, at: string): Promise<void> {
    const info: Info = { name: p.name, source: p.source ?? 'tokens-file', roles: p.roles, teams: p.teams };
    await this.redis.multi().hset(this.seen, subject, at).hset(this.info, subject, JSON.stringify(info)).exec();
  }

  /** Lists a principal that may never have been used, starting its inactivity clock now. */
  async listed(p: Principal, subject: string, at: string): Promise<void> {
    const info: Info = { name: p.name, source: p.source ?? 'tokens-file', roles: p.roles, teams: p.teams };
    await this.redis.multi().hsetnx(this.seen, subject, at).hset(this.info, subject, JSON.stringify(info)).exec();
  }

  async isDisabled(subject: string): Promise<boolean> {
    return (await this.redis.hexists(this.disabledKey, subject)) === 1;
  }

  /**
   * True when this call disabled it (not already disabled): the caller then announces it, once.
   * `record` (the audit outbox record) is written in the same script, only then.
   */
  async disable(subject: string, at: string, record: string): Promise<boolean> {
    return (await this.redis.eval(DISABLE, 2, this.disabledKey, auditOutboxKey(this.prefix), subject, at, record)) === 1;
  }

  /** Enables again and restarts the inactivity clock, with its audit record. False when it was not disabled. */
  async enable(subject: string, at: string, record: string): Promise<boolean> {
    return (await this.redis.eval(ENABLE, 3, this.disabledKey, this.seen, auditOutboxKey(this.prefix), subject, at, record)) === 1;
  }

  async all(): Promise<PrincipalRecord[]> {
    const [seen, info, disabled] = await Promise.all([this.redis.hgetall(this.seen), this.redis.hgetall(this.info), this.redis.hgetall(this.disabledKey)]);
    return Object.entries(seen).map(([subject, lastSeenAt]) => {
      const i: Info = info[subject] ? (JSON.parse(info[subject]) as Info) : { name: subject, source: 'tokens-file', roles: [], teams: [] };
      return { subject, ...i, lastSeenAt, disabled: subject in disabled, ...(disabled[subject] ? { disabledAt: disabled[subject] } : {}) };
    });
  }
}

/** Refuses a disabled subject (401 PRINCIPAL_DISABLED) and records a use: console sign-ins and refreshes. */
export async function admitPrincipal(activity: RedisPrincipalActivity, p: Principal, clock: Clock): Promise<void> {
  if (!p.subject) return;
  if (await activity.isDisabled(p.subject)) throw new AppError('PRINCIPAL_DISABLED', `${p.name} was disabled (unused for too long); an admin can enable it again`);
  await activity.seenAt(p, p.subject, clock().toISOString());
}

/** The provider chain with disabled subjects refused and uses recorded. */
export class TrackedIdentity implements IdentityProvider {
  private readonly touched = new Map<string, number>();

  constructor(private readonly inner: IdentityProvider, private readonly activity: RedisPrincipalActivity, private readonly clock: Clock) {}

  async authenticate(token: string): Promise<Principal | null> {
    const p = await this.inner.authenticate(token);
    if (!p || p.source === 'robot' || !p.subject) return p;
    if (await this.activity.isDisabled(p.subject)) {
      throw new AppError('PRINCIPAL_DISABLED', `${p.name} was disabled (unused for too long); an admin can enable it again`);
    }
    const now = this.clock().getTime();
    const last = this.touched.get(p.subject);
    if (last === undefined || now - last >= TOUCH_EVERY_MS || now < last) {
      this.touched.set(p.subject, now);
      await this.activity.seenAt(p, p.subject, new Date(now).toISOString());
    }
    return p;
  }
}
