/**
 * Which errors mean "Redis is not there right now" (as opposed to a bug or a bad script):
 * the one place that knows ioredis's messages, so that every caller maps them to
 * 503 DEPENDENCY_UNAVAILABLE the same way (see `toAppError` in errors.ts). No imports, so
 * that errors.ts can use it without pulling ioredis into every module.
 */

/**
 * ioredis's own messages: `commandTimeout` expired, the connection closed under a command,
 * a command refused while offline, Sentinel unreachable; and Redis replies that mean the
 * node cannot serve writes now (a replica after failover, a node loading its data, a
 * primary without enough replicas under `min-replicas-to-write`).
 */
const MESSAGES = [
  /^Command timed out/,
  /^Connection is closed/,
  /^Stream isn't writeable/,
  /^Reached the max retries per request limit/,
  /^All sentinels are unreachable/,
  /^Failed to connect to any sentinel/,
  /^(READONLY|LOADING|MASTERDOWN|NOREPLICAS|CLUSTERDOWN|TRYAGAIN) /,
];

/**
 * True when `err` is one of the errors above. Socket codes (ECONNREFUSED, ...) are not
 * matched: commands never reject with them (ioredis reconnects and the command times out or
 * is flushed with the messages above), and the registry clients' errors carry them too.
 */
export function isRedisUnavailable(err: unknown): boolean {
  if (!(err instanceof Error)) return false;
  return err.name === 'MaxRetriesPerRequestError' || MESSAGES.some((m) => m.test(err.message));
}
