/**
 * Robot accounts in Redis: one JSON document per robot (`<prefix>:robot:<id>`), the set of ids,
 * a name index per team for uniqueness, and the last-use times in one hash. Updates are
 * compare-and-set in one Lua script, so a rotation and a disable racing each other cannot lose
 * one of them. Only token hashes are stored.
 */
import type Redis from 'ioredis';
import type { Role } from '../lib/identity/types';

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

// KEYS[1] robot key; ARGV[1] expected JSON, ARGV[2] new JSON. 1 when replaced, 0 when changed meanwhile.
const CAS = `if redis.call('GET', KEYS[1]) ~= ARGV[1] then return 0 end
redis.call('SET', KEYS[1], ARGV[2]) return 1`;

export class RedisRobotStore {
  constructor(private readonly redis: Redis, private readonly prefix: string) {}

  private key(id: string): string { return `${this.prefix}:robot:${id}`; }
  private nameKey(team: string, name: string): string { return `${this.prefix}:robot-name:${team}/${name}`; }
  private get ids(): string { return `${this.prefix}:robots`; }
  private get used(): string { return `${this.prefix}:robot-used`; }

  /** False when the team already has a robot of that name. */
  async create(robot: Robot): Promise<boolean> {
    if ((await this.redis.set(this.nameKey(robot.team, robot.name), robot.id, 'NX')) !== 'OK') return false;
    await this.redis.multi().set(this.key(robot.id), JSON.stringify(robot)).sadd(this.ids, robot.id).exec();
    return true;
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
   * changed in between). Null when the robot does not exist (any more).
   */
  async update(id: string, change: (r: Robot) => Robot): Promise<Robot | null> {
    for (let attempt = 0; attempt < 20; attempt++) {
      const raw = await this.redis.get(this.key(id));
      if (!raw) return null;
      const next = change(JSON.parse(raw) as Robot);
      if ((await this.redis.eval(CAS, 1, this.key(id), raw, JSON.stringify(next))) === 1) return next;
    }
    throw new Error(`robot ${id} kept changing during an update`);
  }

  async delete(robot: Robot): Promise<boolean> {
    const [[, removed]] = (await this.redis.multi().del(this.key(robot.id)).srem(this.ids, robot.id)
      .del(this.nameKey(robot.team, robot.name)).hdel(this.used, robot.id).exec()) as Array<[Error | null, number]>;
    return removed === 1;
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
