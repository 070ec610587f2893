/**
 * `audit archive`: moves the oldest part of the log out of Redis, never silently. The whole
 * chain is verified first; the entries older than `before` go to a new file (never over an
 * existing one) that is synced and verified again from disk; only then one script moves the
 * signed anchor to the last archived entry and trims up to it (refused if another archiver or
 * a rewrite got there first); and the archive itself is recorded in the chain
 * (`audit.archived`, with the file's SHA-256), so the trim is visible in what remains.
 */
import { createHash } from 'node:crypto';
import { createReadStream } from 'node:fs';
import { link, open, unlink } from 'node:fs/promises';
import path from 'node:path';
import type Redis from 'ioredis';
import { AppError } from '../lib/errors';
import type { Break, ChainPoint } from './chain';
import { readAnchor, signAnchor, TRIM_TO_ANCHOR } from './anchor';
import { archiveHeader, archiveTrailer, walkArchiveFile } from './archive-file';
import type { RedisAuditLog } from './log';
import { auditKeys } from './outbox';
import { TrailVerifier } from './verify';

export interface ArchiveOptions {
  /** Entries whose `at` is before this go to the file. */
  before: Date;
  /** The archive file; it must not exist. */
  to: string;
  /** Who archives, for the `audit.archived` entry. */
  actor: string;
}

export type ArchiveOutcome =
  | { kind: 'archived'; from: ChainPoint; to: ChainPoint; count: number; file: string; sha256: string; trimmed: number }
  | { kind: 'nothing' }
  | { kind: 'broken'; broken: Break };

const PAGE = 500;

export async function archiveBefore(redis: Redis, log: RedisAuditLog, options: ArchiveOptions): Promise<ArchiveOutcome> {
  const keys = auditKeys(log.prefix);
  // 1. The whole chain in Redis must verify: a broken log is investigated, not archived.
  const v = new TrailVerifier(log.keyRing);
  const head = await log.head();
  const broken = await log.walk(v, head.seq);
  if (broken) return { kind: 'broken', broken };
  const done = v.finish(head);
  if (!done.ok) return { kind: 'broken', broken: done };
  const anchor = await readAnchor(redis, keys, log.keyRing, log.prefix);
  if (!anchor.ok) return { kind: 'broken', broken: { ok: false, count: 0, seq: anchor.seq, reason: anchor.reason } };
  const from = anchor.point;

  // 2. Export the entries before `before`, in chain order, to a new file.
  const partial = `${options.to}.partial`;
  const handle = await open(partial, 'wx', 0o640);
  let to = from;
  let count = 0;
  try {
    await handle.write(`${archiveHeader(log.prefix, from)}\n`);
    const cutoff = options.before.getTime();
    outer: for (let after = from.seq; ;) {
      const page = await log.list(after, PAGE);
      for (const e of page) {
        if (!(Date.parse(e.at) < cutoff)) break outer;
        await handle.write(`${JSON.stringify(e)}\n`);
        to = { seq: e.seq, hash: e.hash };
        count += 1;
      }
      if (page.length < PAGE) break;
      after = page[page.length - 1].seq;
    }
    await handle.write(`${archiveTrailer(log.keyRing, { prefix: log.prefix, from, to, count })}\n`);
    await handle.sync();
  } finally {
    await handle.close();
  }
  if (count === 0) {
    await unlink(partial);
    return { kind: 'nothing' };
  }
  // link() fails when the target exists: an archive is never written over another.
  try {
    await link(partial, options.to);
  } finally {
    await unlink(partial);
  }

  // 3. Verify the file as written on disk, from the anchor it claims to continue.
  const check = await walkArchiveFile(log.keyRing, options.to, new TrailVerifier(log.keyRing));
  if ('broken' in check) throw new AppError('INTERNAL', `the archive just written does not verify (nothing trimmed): ${check.broken.reason}`);
  if (check.span.to.seq !== to.seq || check.span.to.hash !== to.hash) throw new AppError('INTERNAL', 'the archive just written ends elsewhere than exported (nothing trimmed)');
  const sha256 = await fileSha256(options.to);

  // 4. Move the anchor and trim, in one script, only over what was exported.
  const signed = signAnchor(log.keyRing, log.prefix, to);
  const trimmed = Number(await redis.eval(TRIM_TO_ANCHOR, 3, keys.stream, keys.anchor, keys.head, String(from.seq), String(to.seq), to.hash, signed.keyId, signed.mac, new Date().toISOString()));
  if (trimmed < 0) {
    throw new AppError('CONFLICT', `the log changed while it was archived (${trimmed === -1 ? 'another archive moved the anchor' : 'the last archived entry is no longer in Redis as exported'}); ${options.to} is written but nothing was trimmed`);
  }

  // 5. The trim is itself an audited event.
  await log.append({
    actor: options.actor, action: 'audit.archived', target: `audit/${log.prefix}`,
    details: { from, to, count, trimmed, file: path.basename(options.to), sha256, before: options.before.toISOString() },
  });
  return { kind: 'archived', from, to, count, file: options.to, sha256, trimmed };
}

async function fileSha256(file: string): Promise<string> {
  const hash = createHash('sha256');
  for await (const chunk of createReadStream(file)) hash.update(chunk as Buffer);
  return hash.digest('hex');
}
