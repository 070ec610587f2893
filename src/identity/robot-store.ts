/**
 * Robot accounts in Redis: one JSON document per robot (`<prefix>:robot:<id>`), the set of ids,
 * a name index per team for uniqueness, and the last-use times in one hash. Updates are
 * compare-and-set in one Lua script, so a rotation and a disable racing each other cannot lose
 * one of them. Each script also XADDs the change's audit record to the audit outbox (BOARD
 * contract), so a change and its record commit together or not at all. Only token hashes are
 * stored.
 */
import type Redis from 'ioredis';
import type { Role } from '../lib/identity/types';
import { auditOutboxKey } from './events';

export interface RobotToken {
  /** SHA-256 hex of the secret part of the token. */
  sha256: string;
  /** Set on the previous token after a rotation: it works until then. */
  validUntil?: string;
}

export interface Robot {
  id: string;
  name: string;
  team: string;
  roles: Role[];
  createdAt: string;
  /** Subject of the admin who created it. */
  createdBy: string;
  /**
   * Subjects of everyone who was handed one of its tokens (the creator, each rotator): the people
   * the robot acts for, its `sameAs` in four-eyes. Absent on robots made before it was kept: the creator.
   */
  holders?: string[];
  /** The lifetime asked for; a rotation restarts it. */
  expiresInDays: number;
  expiresAt: string;
  rotatedAt?: string;
  disabled: boolean;
  disabledReason?: 'admin' | 'expired' | 'inactive';
  tokens: RobotToken[];
  /** Expiry warnings already sent (days before expiry: 14, 1), cleared by a rotation. */
  warned: number[];
}

// KEYS[1] robot key, KEYS[2] audit outbox; ARGV[1] expected JSON, ARGV[2] new JSON, ARGV[3] audit
// record ('' = none). 1 when replaced, 0 when the robot changed meanwhile.
const CAS = `if redis.call('GET', KEYS[1]) ~= ARGV[1] then return 0 end
redis.call('SET', KEYS[1], ARGV[2])
if ARGV[3] ~= '' then redis.call('XADD', KEYS[2], '*', 'record', ARGV[3]) end
return 1`;

// KEYS: name index, robot key, id set, outbox; ARGV: id, robot JSON, audit record. 0 when the name is taken.
const CREATE = `if redis.call('SET', KEYS[1], ARGV[1], 'NX') == false then return 0 end
redis.call('SET', KEYS[2], ARGV[2])
redis.call('SADD', KEYS[3], ARGV[1])
redis.call('XADD', KEYS[4], '*', 'record', ARGV[3])
return 1`;

// KEYS: robot key, id set, name index, used hash, outbox; ARGV: id, audit record. 0 when already gone.
const DELETE = `if redis.call('DEL', KEYS[1]) == 0 then return 0 end
redis.call('SREM', KEYS[2], ARGV[1])
redis.call('DEL', KEYS[3])
redis.call('HDEL', KEYS[4], ARGV[1])
redis.call('XADD', KEYS[5], '*', 'record', ARGV[2])
return 1`;

export class RedisRobotStore {
  constructor(private readonly redis: Redis, private readonly prefix: string) {}

  private key(id: string): string { return `${this.prefix}:robot:${id}`; }
  private nameKey(team: string, name: string): string { return `${this.prefix}:robot-name:${team}/${name}`; }
  private get ids(): string { return `${this.prefix}:robots`; }
  private get used(): string { return `${this.prefix}:robot-used`; }
  private get outbox(): string { return auditOutboxKey(this.prefix); }

  /** False when the team already has a robot of that name. `record`: its audit record. */
  async create(robot: Robot, record: string): Promise<boolean> {
    const keys = [this.nameKey(robot.team, robot.name), this.key(robot.id), this.ids, this.outbox];
    return (await this.redis.eval(CREATE, keys.length, ...keys, robot.id, JSON.stringify(robot), record)) === 1;
  }

  async get(id: string): Promise<Robot | null> {
    const raw = await this.redis.get(this.key(id));
    return raw ? (JSON.parse(raw) as Robot) : null;
  }

  async list(): Promise<Robot[]> {
    const ids = await this.redis.smembers(this.ids);
    if (ids.length === 0) return [];
    const raws = await this.redis.mget(ids.map((id) => this.key(id)));
    return raws.filter((r): r is string => r !== null).map((r) => JSON.parse(r) as Robot);
  }

  /**
   * Applies `change` atomically against concurrent updates (re-read and retried when the robot
   * changed in between), with the audit record `record` gives for the result (null: nothing to
   * record, e.g. no change). Null when the robot does not exist (any more).
   */
  async update(id: string, change: (r: Robot) => Robot, record: (next: Robot) => string | null): Promise<Robot | null> {
    for (let attempt = 0; attempt < 20; attempt++) {
      const raw = await this.redis.get(this.key(id));
      if (!raw) return null;
      const next = change(JSON.parse(raw) as Robot);
      if ((await this.redis.eval(CAS, 2, this.key(id), this.outbox, raw, JSON.stringify(next), record(next) ?? '')) === 1) return next;
    }
    throw new Error(`robot ${id} kept changing during an update`);
  }

  async delete(robot: Robot, record: string): Promise<boolean> {
    const keys = [this.key(robot.id), this.ids, this.nameKey(robot.team, robot.name), this.used, this.outbox];
    return (await this.redis.eval(DELETE, keys.length, ...keys, robot.id, record)) === 1;
  }

  async touch(id: string, at: string): Promise<void> {
    await this.redis.hset(this.used, id, at);
  }

  async lastUsed(ids: string[]): Promise<Map<string, string>> {
    if (ids.length === 0) return new Map();
    const values = await this.redis.hmget(this.used, ...ids);
    return new Map(ids.flatMap((id, i) => (values[i] ? [[id, values[i] as string]] : [])));
  }
}
