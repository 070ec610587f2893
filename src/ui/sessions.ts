/**
 * Server-side web sessions of the console, in Redis. The browser holds only a random session id
 * in a cookie; Redis holds the record under the SHA-256 of that id, so a dump of Redis (or a
 * key listing in a support session) gives nobody a cookie to replay.
 *
 * A session ends at whichever comes first: `idleMs` without a request, or `lifetimeMs` after
 * sign-in. Both are enforced twice: by the Lua script on every read (exact, with the caller's
 * clock, which tests move) and by the key's TTL (so that abandoned sessions leave Redis).
 *
 * The record holds what the console needs to authorise a page (the principal's fields, never the
 * token typed at sign-in), a CSRF token per session, and an opaque `oidc` object that the OIDC
 * sign-in keeps its tokens in (refresh token, expiry…); this module never reads it. A session made
 * from a token also holds the `credential` that finds its principal again (the SHA-256 its
 * provider stores, or a JWT's exp: src/identity/session-check.ts), checked at every request
 * (./auth.ts).
 *
 * Every session of a subject is listed in a per-subject set so that sign-out everywhere (or a
 * disabled principal) can end them all at once.
 */
import { createHash, randomBytes, timingSafeEqual } from 'node:crypto';
import type Redis from 'ioredis';
import { z } from 'zod';
import { sessionCredentialSchema, type SessionCredential } from '../identity';
import { PRINCIPAL_SOURCES, ROLES, type Principal } from '../lib/identity/types';

/** What the console knows about the signed-in person: a Principal's fields, plus OIDC state. */
export const sessionDataSchema = z.strictObject({
  subject: z.string().min(1),
  source: z.enum(PRINCIPAL_SOURCES),
  name: z.string().min(1),
  roles: z.array(z.enum(ROLES)),
  teams: z.array(z.string()),
  groups: z.array(z.string()).optional(),
  /** Opaque to this module: the OIDC workstream's tokens and their expiry. */
  oidc: z.record(z.string(), z.unknown()).optional(),
  /** A session made from a token: what re-checks its principal at every request (never the token). */
  credential: sessionCredentialSchema.optional(),
});
export type SessionData = z.infer<typeof sessionDataSchema>;

export interface UiSession extends SessionData {
  /** Sent back with every form and mutating fetch; compared with {@link csrfMatches}. */
  csrf: string;
  /** Epoch ms of sign-in and of the last request. */
  createdAt: number;
  lastSeenAt: number;
}

export interface SessionSettings {
  /** A session unused this long ends. */
  idleMs: number;
  /** A session ends this long after sign-in, used or not. */
  lifetimeMs: number;
}

/** The web session store the console and the OIDC sign-in use. */
export interface SessionStore {
  /** Starts a session; returns the id to put in the cookie (it is stored nowhere else). */
  create(data: SessionData): Promise<{ id: string; session: UiSession }>;
  /** The live session of `id`, its idle clock restarted; null when unknown, idle or too old. */
  get(id: string): Promise<UiSession | null>;
  /** Replaces the session's data (an OIDC refresh re-reads groups); false when it ended or `data` names another subject. */
  update(id: string, data: SessionData): Promise<boolean>;
  destroy(id: string): Promise<void>;
  /** Ends every session of `subject`; how many were live. */
  destroyAllFor(subject: string): Promise<number>;
}

const sha256 = (s: string): string => createHash('sha256').update(s).digest('hex');
const randomToken = (): string => randomBytes(32).toString('base64url');
/** Session ids are 32 random bytes, base64url: anything else is not looked up. */
const ID_SHAPE = /^[A-Za-z0-9_-]{43}$/;

/** The CSRF token sent with a form equals the session's (constant time). */
export function csrfMatches(session: UiSession, sent: unknown): boolean {
  if (typeof sent !== 'string' || sent.length !== session.csrf.length) return false;
  return timingSafeEqual(Buffer.from(sent), Buffer.from(session.csrf));
}

/** The principal a session stands for, as services expect it. */
export function principalOfSession(s: SessionData): Principal {
  return { name: s.name, roles: [...s.roles], teams: [...s.teams], subject: s.subject, source: s.source, ...(s.groups ? { groups: [...s.groups] } : {}) };
}

/**
 * The session data of an authenticated principal (sign-in with a token): no token in it, only the
 * `credential` that finds the principal again at each request.
 */
export function sessionDataOf(p: Principal, credential?: SessionCredential): SessionData {
  return sessionDataSchema.parse({
    subject: p.subject ?? `tokens-file:${p.name}`, source: p.source ?? 'tokens-file', name: p.name,
    roles: p.roles, teams: p.teams, ...(p.groups ? { groups: p.groups } : {}), ...(credential ? { credential } : {}),
  });
}

// KEYS: session hash. ARGV: now, idle ms, lifetime ms. Returns the data JSON, csrf, createdAt,
// lastSeenAt (before this touch), or nil. An ended session is deleted on the way.
const GET = `
local v = redis.call('HMGET', KEYS[1], 'data', 'csrf', 'createdAt', 'lastSeenAt')
if not v[1] then return nil end
local now, idle, life = tonumber(ARGV[1]), tonumber(ARGV[2]), tonumber(ARGV[3])
local created, seen = tonumber(v[3]), tonumber(v[4])
if now - seen >= idle or now - created >= life then
  redis.call('DEL', KEYS[1])
  return nil
end
redis.call('HSET', KEYS[1], 'lastSeenAt', now)
redis.call('PEXPIRE', KEYS[1], math.max(1, math.min(idle, created + life - now)))
return {v[1], v[2], v[3], tostring(now)}`;

// KEYS: session hash. ARGV: data JSON, its subject. Only a live session of the same subject is
// updated: a session never changes hands (the per-subject index would lie).
const UPDATE = `
local old = redis.call('HGET', KEYS[1], 'data')
if not old or cjson.decode(old).subject ~= ARGV[2] then return 0 end
redis.call('HSET', KEYS[1], 'data', ARGV[1])
return 1`;

// KEYS: the subject's set. ARGV: session key prefix. Deletes every listed session and the set.
const DESTROY_ALL = `
local ids = redis.call('SMEMBERS', KEYS[1])
local n = 0
for _, h in ipairs(ids) do n = n + redis.call('DEL', ARGV[1] .. h) end
redis.call('DEL', KEYS[1])
return n`;

export class RedisSessionStore implements SessionStore {
  private readonly sessionPrefix: string;
  private readonly subjectPrefix: string;

  constructor(private readonly redis: Redis, prefix: string, private readonly settings: SessionSettings, private readonly now: () => number = Date.now) {
    this.sessionPrefix = `${prefix}:ui:session:`;
    this.subjectPrefix = `${prefix}:ui:subject-sessions:`;
  }

  async create(data: SessionData): Promise<{ id: string; session: UiSession }> {
    const parsed = sessionDataSchema.parse(data);
    const id = randomToken();
    const now = this.now();
    const session: UiSession = { ...parsed, csrf: randomToken(), createdAt: now, lastSeenAt: now };
    const hashed = sha256(id);
    const subjectKey = this.subjectPrefix + sha256(parsed.subject);
    await this.redis.multi()
      .hset(this.sessionPrefix + hashed, 'data', JSON.stringify(parsed), 'csrf', session.csrf, 'createdAt', String(now), 'lastSeenAt', String(now))
      .pexpire(this.sessionPrefix + hashed, Math.min(this.settings.idleMs, this.settings.lifetimeMs))
      .sadd(subjectKey, hashed)
      // The set lives as long as its newest session can; ended members are only dangling names.
      .pexpire(subjectKey, this.settings.lifetimeMs)
      .exec();
    return { id, session };
  }

  async get(id: string): Promise<UiSession | null> {
    if (!ID_SHAPE.test(id)) return null;
    const got = await this.redis.eval(GET, 1, this.sessionPrefix + sha256(id), this.now(), this.settings.idleMs, this.settings.lifetimeMs) as [string, string, string, string] | null;
    if (!got) return null;
    const data = sessionDataSchema.safeParse(JSON.parse(got[0]));
    if (!data.success) return null; // a record this version cannot read is no session (fail closed)
    return { ...data.data, csrf: got[1], createdAt: Number(got[2]), lastSeenAt: Number(got[3]) };
  }

  async update(id: string, data: SessionData): Promise<boolean> {
    if (!ID_SHAPE.test(id)) return false;
    const parsed = sessionDataSchema.parse(data);
    const done = await this.redis.eval(UPDATE, 1, this.sessionPrefix + sha256(id), JSON.stringify(parsed), parsed.subject);
    return Number(done) === 1;
  }

  async destroy(id: string): Promise<void> {
    if (!ID_SHAPE.test(id)) return;
    await this.redis.del(this.sessionPrefix + sha256(id));
  }

  async destroyAllFor(subject: string): Promise<number> {
    return Number(await this.redis.eval(DESTROY_ALL, 1, this.subjectPrefix + sha256(subject), this.sessionPrefix));
  }
}

/** Identity events after which a subject may no longer use the console: its sessions end at once. */
const ENDING_EVENTS = /^(robot\.(disabled|deleted|expired)|principal\.disabled(_\w+)?)$/;

/**
 * The subject an identity event names: `robot/<id>` is the robot's subject `robot:<id>`,
 * `principal/<subject>` the subject itself; anything else names none.
 */
export function subjectOfTarget(target: string): string | null {
  if (target.startsWith('robot/')) return `robot:${target.slice('robot/'.length)}`;
  if (target.startsWith('principal/')) return target.slice('principal/'.length) || null;
  return null;
}

/**
 * An event subscriber that ends every console session of a robot disabled, deleted or expired,
 * or of a principal disabled (by an admin or for inactivity), at once: a token session would
 * also end at its next request (./auth.ts re-checks it), but an OIDC sign-in's session keeps the
 * roles of its last refresh until the next one is due. Runs in
 * whichever process publishes the event (sessions are in Redis); a failure is logged, never thrown.
 */
export function endSessionsOnDisable(store: Pick<SessionStore, 'destroyAllFor'>, logger?: { warn(o: object, m: string): void }): (event: { type: string; target: string }) => Promise<void> {
  return async (event) => {
    if (!ENDING_EVENTS.test(event.type)) return;
    const subject = subjectOfTarget(event.target);
    if (!subject) return;
    await store.destroyAllFor(subject).catch((err: unknown) => logger?.warn({ error: err, subject }, 'console sessions of a disabled principal could not be ended'));
  };
}
