/**
 * `portcullis audit verify`: checks the audit log's hash chain; exit 0 when intact, 1 naming
 * the first broken entry. `portcullis audit export [--after SEQ]`: the log as JSON lines on
 * stdout. Both read the service configuration (PORTCULLIS_CONFIG) for Redis.
 */
import { parseArgs } from 'node:util';
import Redis from 'ioredis';
import { RedisAuditLog } from '../audit';
import { loadConfig } from '../lib/config';

const USAGE = 'usage: portcullis audit verify | portcullis audit export [--after SEQ]\n';
const PAGE = 500;

export async function run(argv: string[]): Promise<number> {
  const [sub, ...rest] = argv;
  if (sub !== 'verify' && sub !== 'export') {
    process.stderr.write(USAGE);
    return 2;
  }
  const { values } = parseArgs({ args: rest, options: { after: { type: 'string', default: '0' } } });
  const after = Number(values.after);
  if (!Number.isInteger(after) || after < 0) {
    process.stderr.write(`portcullis audit: --after must be a non-negative integer\n${USAGE}`);
    return 2;
  }
  const config = loadConfig();
  const redis = new Redis(config.redis.url, { maxRetriesPerRequest: 2, lazyConnect: true });
  try {
    await redis.connect();
    const log = new RedisAuditLog(redis, config.redis.prefix);
    return sub === 'verify' ? await verify(log) : await exportLines(log, after);
  } finally {
    redis.disconnect();
  }
}

async function verify(log: RedisAuditLog): Promise<number> {
  const result = await log.verify();
  if (result.ok) {
    process.stdout.write(`audit log intact: ${result.count} entries, head ${result.lastHash}\n`);
    return 0;
  }
  process.stdout.write(`audit log BROKEN at entry seq ${result.seq}: ${result.reason} (${result.count} entries verified before it)\n`);
  return 1;
}

async function exportLines(log: RedisAuditLog, after: number): Promise<number> {
  for (let cursor = after; ;) {
    const page = await log.list(cursor, PAGE);
    if (page.length) process.stdout.write(page.map((e) => `${JSON.stringify(e)}\n`).join(''));
    if (page.length < PAGE) return 0;
    cursor = page[page.length - 1].seq;
  }
}
