/**
 * `portcullis audit …`: verify, export and archive the audit log. They read the service
 * configuration (PORTCULLIS_CONFIG) for Redis and PORTCULLIS_AUDIT_KEY for the entry keys.
 * Exit codes: 0 done; 1 the trail does not verify (the message names the first bad entry or
 * checkpoint); 2 usage or configuration (the key missing included); 3 Redis cannot be reached;
 * 4 the operation failed otherwise (a file, a conflicting archive).
 */
import { userInfo } from 'node:os';
import { parseArgs } from 'node:util';
import Redis from 'ioredis';
import { archiveBefore, AuditKeyring, readCheckpoints, RedisAuditLog, TrailVerifier, walkArchiveFile, type FoundCheckpoint, type TrailResult } from '../audit';
import { ConfigError, loadConfig, type Config } from '../lib/config';
import { isAppError } from '../lib/errors';
import { scrubSecrets } from '../lib/logger';
import { redisOptions } from '../lib/redis';

const USAGE = `usage: portcullis audit verify [--checkpoints DIR] [--archive FILE]...
       portcullis audit export [--after SEQ]
       portcullis audit archive --to FILE --before DATE
`;
const PAGE = 500;

export const EXIT = { ok: 0, broken: 1, usage: 2, unreachable: 3, failed: 4 } as const;

/** Thrown when Redis does not answer; run() maps it to exit 3. */
class Unreachable extends Error {}

/**
 * The one place the CLI builds its Redis connection: the service's options (Sentinel included),
 * but no reconnect loop and a long command deadline (an archive reads the whole log).
 */
function connectRedis(config: Config): Redis {
  return new Redis(config.redis.url, {
    ...redisOptions(config.redis, 'store'), lazyConnect: true, maxRetriesPerRequest: 1, commandTimeout: 30000, retryStrategy: () => null,
  });
}

function fail(code: number, message: string): number {
  process.stderr.write(`portcullis audit: ${message}\n`);
  return code;
}

type Command =
  | { sub: 'verify'; checkpoints?: string; archives: string[] }
  | { sub: 'export'; after: number }
  | { sub: 'archive'; to: string; before: Date };

/** Parses and checks the arguments before anything connects: a usage error is exit 2 whatever Redis does. */
function parseCommand(argv: string[]): Command | string {
  const [sub, ...args] = argv;
  if (sub === 'verify') {
    const { values } = parseArgs({ args, options: { checkpoints: { type: 'string' }, archive: { type: 'string', multiple: true } } });
    return { sub, checkpoints: values.checkpoints, archives: values.archive ?? [] };
  }
  if (sub === 'export') {
    const { values } = parseArgs({ args, options: { after: { type: 'string', default: '0' } } });
    const after = Number(values.after);
    return Number.isInteger(after) && after >= 0 ? { sub, after } : '--after must be a non-negative integer';
  }
  if (sub === 'archive') {
    const { values } = parseArgs({ args, options: { to: { type: 'string' }, before: { type: 'string' } } });
    if (!values.to || !values.before) return 'archive needs --to FILE and --before DATE';
    const before = parseBefore(values.before);
    if (!before) return `--before: '${values.before}' is not a date (YYYY-MM-DD, or an ISO 8601 time with offset)`;
    if (before.getTime() > Date.now()) return '--before is in the future: only the past can be archived';
    return { sub, to: values.to, before };
  }
  return `unknown subcommand '${sub ?? ''}'`;
}

export async function run(argv: string[]): Promise<number> {
  let command: Command | string;
  try {
    command = parseCommand(argv);
  } catch (err) {
    command = (err as Error).message; // parseArgs: unknown option, missing value
  }
  if (typeof command === 'string') return fail(EXIT.usage, `${command}\n${USAGE}`);
  let config: Config;
  let keys: AuditKeyring;
  try {
    config = loadConfig();
    keys = AuditKeyring.fromEnv();
  } catch (err) {
    if (err instanceof ConfigError) return fail(EXIT.usage, err.message);
    throw err;
  }
  const redis = connectRedis(config);
  redis.on('error', () => { /* reported by the command that fails */ });
  try {
    await redis.connect().catch((err: Error) => { throw new Unreachable(err.message); });
    const log = new RedisAuditLog(redis, config.redis.prefix, { keys });
    if (command.sub === 'verify') return await verify(log, keys, command.checkpoints, command.archives);
    if (command.sub === 'export') return await exportLines(log, command.after);
    return await archive(redis, log, command.to, command.before);
  } catch (err) {
    if (err instanceof Unreachable || isConnectionError(err)) {
      // Without PORTCULLIS_CONFIG this is the built-in default, rarely the service's Redis.
      const where = process.env.PORTCULLIS_CONFIG ? '' : '\n  → PORTCULLIS_CONFIG is not set, so this is the default; set it to the service configuration (local stack: source .stack/demo-tokens.env)';
      return fail(EXIT.unreachable, `cannot reach Redis at ${scrubSecrets(config.redis.url)}: ${(err as Error).message}${where}`);
    }
    if (isAppError(err)) return fail(EXIT.failed, `${err.code}: ${err.message}`);
    // Anything else (a file, a Redis reply error) is not a verdict on the chain: never exit 1.
    return fail(EXIT.failed, scrubSecrets(err instanceof Error ? err.message : String(err)));
  } finally {
    redis.disconnect();
  }
}

function isConnectionError(err: unknown): boolean {
  if (!(err instanceof Error)) return false;
  return err.name === 'MaxRetriesPerRequestError' || /Connection is closed|ECONNREFUSED|ECONNRESET|ETIMEDOUT|Command timed out|Stream isn't writeable/.test(err.message);
}

async function verify(log: RedisAuditLog, keys: AuditKeyring, dir: string | undefined, archives: string[]): Promise<number> {
  let checkpoints: FoundCheckpoint[] = [];
  if (dir !== undefined) {
    try {
      checkpoints = await readCheckpoints(dir, log.prefix);
    } catch (err) {
      return fail(EXIT.usage, `--checkpoints ${dir}: ${(err as NodeJS.ErrnoException).code ?? (err as Error).message}`);
    }
    if (checkpoints.length === 0) process.stderr.write(`portcullis audit: warning: no checkpoint of prefix '${log.prefix}' in ${dir}\n`);
  }
  const v = new TrailVerifier(keys, checkpoints);
  for (const file of archives) {
    const r = await walkArchiveFile(keys, file, v);
    if ('broken' in r) return report(r.broken);
  }
  // The head before the walk (entries chained meanwhile are left for next time).
  const head = await log.head();
  const code = report((await log.walk(v, head.seq)) ?? v.finish(head));
  if (code === EXIT.ok && dir === undefined) process.stdout.write('note: without --checkpoints a cut-off tail, or a log deleted with its head, does not show\n');
  return code;
}

function report(result: TrailResult): number {
  if (result.ok) {
    const from = result.start.seq === 0 ? 'from genesis' : `from seq ${result.start.seq} (archived before it)`;
    const cps = `${result.checkpoints.matched} checkpoints matched${result.checkpoints.older ? `, ${result.checkpoints.older} older than the trail checked` : ''}`;
    process.stdout.write(`audit log intact: ${result.count} entries ${from}, head seq ${result.head.seq} ${result.head.hash}; ${cps}\n`);
    return EXIT.ok;
  }
  process.stdout.write(`audit log BROKEN at entry seq ${result.seq}: ${result.reason} (${result.count} entries verified before it)\n`);
  return EXIT.broken;
}

async function exportLines(log: RedisAuditLog, after: number): Promise<number> {
  for (let cursor = after; ;) {
    const page = await log.list(cursor, PAGE);
    if (page.length) process.stdout.write(page.map((e) => `${JSON.stringify(e)}\n`).join(''));
    if (page.length < PAGE) return EXIT.ok;
    cursor = page[page.length - 1].seq;
  }
}

/** `YYYY-MM-DD` (midnight UTC) or a full ISO 8601 time with its offset. */
function parseBefore(raw: string): Date | null {
  if (!/^\d{4}-\d{2}-\d{2}(T\d{2}:\d{2}(:\d{2}(\.\d+)?)?(Z|[+-]\d{2}:\d{2}))?$/.test(raw)) return null;
  const [y, m, day] = raw.slice(0, 10).split('-').map(Number);
  const probe = new Date(Date.UTC(y, m - 1, day));
  // Date rolls 2026-02-30 over to March: refuse a day that does not exist.
  if (probe.getUTCFullYear() !== y || probe.getUTCMonth() !== m - 1 || probe.getUTCDate() !== day) return null;
  const d = new Date(raw.length === 10 ? `${raw}T00:00:00Z` : raw);
  return Number.isNaN(d.getTime()) ? null : d;
}

async function archive(redis: Redis, log: RedisAuditLog, to: string, before: Date): Promise<number> {
  const outcome = await archiveBefore(redis, log, { before, to, actor: `cli:${userInfo().username}` });
  if (outcome.kind === 'broken') {
    process.stdout.write('nothing archived: the log does not verify\n');
    return report(outcome.broken);
  }
  if (outcome.kind === 'nothing') {
    process.stdout.write(`nothing to archive: no entry before ${before.toISOString()}\n`);
    return EXIT.ok;
  }
  process.stdout.write(`archived ${outcome.count} entries (seq ${outcome.from.seq + 1}..${outcome.to.seq}) to ${outcome.file} (sha256 ${outcome.sha256}); trimmed ${outcome.trimmed} from Redis; the chain there now starts after seq ${outcome.to.seq}\n`);
  return EXIT.ok;
}
