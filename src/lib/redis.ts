/**
 * The one place Redis connections are made, for the service, the workers and the CLI.
 *
 * Two kinds, because BullMQ's blocking worker connection and the API want opposite things:
 * - `store`: the API, the stores, the audit log, the job scheduler (queue adds) and the rate
 *   limiter. Every command has a deadline (`redis.commandTimeoutMs`): while Redis is away a
 *   command fails with "Command timed out" (503 DEPENDENCY_UNAVAILABLE, see redis-errors.ts)
 *   instead of waiting forever. Commands issued during a short reconnect (a Sentinel
 *   failover) wait in the offline queue up to that deadline, so a blip costs latency, not errors.
 * - `worker`: BullMQ workers. BullMQ requires `maxRetriesPerRequest: null` on the connection
 *   it duplicates for its blocking commands (a blocked BZPOPMIN must not be timed out), and
 *   its own retry loop handles Redis being away. Nothing else may use this kind.
 *
 * Both reconnect forever (backoff capped at {@link MAX_RECONNECT_DELAY_MS}), so the service
 * recovers by itself when Redis returns. With `redis.sentinels`, both ask Sentinel for the
 * current primary, ask again when the connection drops, and reconnect when a demoted node
 * answers READONLY. Connection errors go through the pino logger (once per outage, not once
 * per reconnect attempt): ioredis prints unhandled `error` events to stderr otherwise.
 */
import Redis, { type RedisOptions } from 'ioredis';
import { AppError } from './errors';
import type { Logger } from './logger';

/** Longest wait between two reconnect attempts: Redis back means the service back within this. */
export const MAX_RECONNECT_DELAY_MS = 2000;

/** The `redis` config section, as the factory reads it. */
export interface RedisSettings {
  url: string;
  prefix: string;
  /** Sentinel addresses; when non-empty, `url` gives only credentials and database, Sentinel the host. */
  sentinels: Array<{ host: string; port: number }>;
  /** The primary's name as the sentinels monitor it (`sentinel monitor <name> ...`). */
  sentinelName?: string;
  /** Deadline of each command on `store` connections. */
  commandTimeoutMs: number;
  /** Replicas that must acknowledge a critical write ({@link confirmReplicated}); 0 skips the check. */
  replicasToAck: number;
  /** How long {@link confirmReplicated} waits for those acknowledgements. */
  replicaAckTimeoutMs: number;
}

export type RedisPurpose = 'store' | 'worker';

/** Reconnect forever, backing off to at most {@link MAX_RECONNECT_DELAY_MS}. */
const reconnectDelay = (attempt: number): number => Math.min(50 * 2 ** Math.min(attempt, 10), MAX_RECONNECT_DELAY_MS);

/** The ioredis options of a connection of this purpose (exported for BullMQ and the tests). */
export function redisOptions(settings: RedisSettings, purpose: RedisPurpose): RedisOptions {
  const common: RedisOptions = {
    retryStrategy: reconnectDelay,
    // After a failover a client may still reach the demoted primary: reconnect (Sentinel gives
    // the new one) and resend the command instead of failing it.
    reconnectOnError: (err) => (/^READONLY /.test(err.message) ? 2 : false),
    connectTimeout: 5000,
    ...(settings.sentinels.length > 0 ? {
      sentinels: settings.sentinels,
      name: settings.sentinelName,
      // Not ioredis's failoverDetector (+switch-master subscriptions): a connection closed with
      // quit(), as BullMQ closes its own, leaves them reconnecting to the sentinels forever. A
      // demoted primary drops its clients and answers READONLY (handled above), a dead one drops
      // the connection: either way the client asks the sentinels again. Writes a demoted
      // primary took during the switch are what confirmReplicated guards against.
      failoverDetector: false,
      sentinelCommandTimeout: 1000,
    } : {}),
  };
  if (purpose === 'worker') return { ...common, maxRetriesPerRequest: null };
  return {
    ...common, commandTimeout: settings.commandTimeoutMs, enableOfflineQueue: true,
    // A command in flight when the connection drops may or may not have run: fail it (the
    // caller sees 503 or a job retries) rather than resend it and append an audit record twice.
    autoResendUnfulfilledCommands: false,
  };
}

/**
 * What BullMQ builds a worker's connections from: the `worker` options and the URL. BullMQ
 * makes, duplicates (for its blocking commands) and closes these connections itself; their
 * errors reach the Worker's `error` event, which queue/worker.ts logs.
 */
export function workerConnection(settings: RedisSettings): Omit<RedisOptions, 'retryStrategy'> & { url: string; retryStrategy: (attempt: number) => number } {
  return { ...redisOptions(settings, 'worker'), url: settings.url, retryStrategy: reconnectDelay };
}

/** Logs the first error of an outage and the recovery, not every reconnect attempt. */
function logConnection(redis: Redis, purpose: RedisPurpose, logger: Logger): void {
  const log = logger.child({ module: 'redis', 'redis.purpose': purpose });
  let down = false;
  redis.on('error', (err: Error) => {
    if (down) return log.debug({ error: err }, 'redis still unavailable');
    down = true;
    log.warn({ error: err }, 'redis connection error: retrying');
  });
  redis.on('ready', () => {
    if (down) log.info('redis connection restored');
    down = false;
  });
}

/**
 * A connection of this purpose, connecting in the background (commands issued before it is
 * ready wait, within their deadline). Callers own it: `quit()` on shutdown.
 */
export function createRedis(settings: RedisSettings, purpose: RedisPurpose, logger: Logger): Redis {
  const redis = new Redis(settings.url, redisOptions(settings, purpose));
  logConnection(redis, purpose, logger);
  return redis;
}

/**
 * A readiness check: rejects at once while the connection is lost (reconnecting, closed), else
 * PINGs, which waits for a first connection in progress within the command deadline.
 */
export async function pingRedis(redis: Redis): Promise<void> {
  if (['reconnecting', 'close', 'end'].includes(redis.status)) throw new Error(`connection ${redis.status}`);
  if ((await redis.ping()) !== 'PONG') throw new Error('no PONG');
}

/**
 * Waits until `replicasToAck` replicas hold every write this connection sent so far
 * (Redis `WAIT`). Replication is asynchronous: a write the primary acknowledged can be lost
 * if the primary dies before a replica received it, and Sentinel promotes a replica. Call
 * this after a write that must survive a failover before the caller is told it happened
 * (an approval, a revocation, an audit append): Sentinel promotes the most up-to-date
 * replica, so a write one replica acknowledged survives the loss of the primary.
 * WAIT counts this connection's writes, so it must run on the connection that wrote; it also
 * holds that connection's later commands until it returns (instantly when the replica keeps up,
 * `replicaAckTimeoutMs` when it does not): a store doing many critical writes can take its own
 * `store` connection so that reads elsewhere do not queue behind a WAIT.
 * Throws DEPENDENCY_UNAVAILABLE (temporary) when fewer replicas answered in time: the write
 * is on the primary but not known to be safe, so the caller must not report it as done.
 * A no-op when `replicasToAck` is 0 (a single Redis, or a site that accepts the window).
 */
export async function confirmReplicated(redis: Redis, settings: Pick<RedisSettings, 'replicasToAck' | 'replicaAckTimeoutMs'>): Promise<void> {
  if (settings.replicasToAck <= 0) return;
  const acked = await redis.wait(settings.replicasToAck, settings.replicaAckTimeoutMs);
  if (acked < settings.replicasToAck) {
    throw new AppError('DEPENDENCY_UNAVAILABLE', `the write reached ${acked} of ${settings.replicasToAck} Redis replicas`, { temporary: true });
  }
}

/** Confirms that the writes a store sent so far reached the replicas ({@link replicationConfirmer}). */
export type ConfirmWrite = () => Promise<void>;

/**
 * What the stores call after a critical write (approvals, revocations and their lifting,
 * decisions, audit appends): {@link confirmReplicated} on `redis` when Sentinel is configured
 * and `replicasToAck` > 0, else nothing (no replicas to wait for).
 */
export function replicationConfirmer(redis: Redis, settings: Pick<RedisSettings, 'sentinels' | 'replicasToAck' | 'replicaAckTimeoutMs'>): ConfirmWrite | undefined {
  if (settings.sentinels.length === 0 || settings.replicasToAck <= 0) return undefined;
  return () => confirmReplicated(redis, settings);
}

/**
 * Closes a connection at shutdown: QUIT, so that the commands already sent are answered first.
 * When the socket closes before QUIT's reply is read (the server, or the network, went first),
 * ioredis rejects it with "Connection is closed." and the connection has ended: that is the
 * step done, not a failed shutdown (seen as a rare exit code 1 of a stopped API process).
 */
export async function closeRedis(redis: Redis): Promise<void> {
  try {
    await redis.quit();
  } catch (err) {
    if (err instanceof Error && err.message === 'Connection is closed.' && redis.status === 'end') return;
    throw err;
  }
}
