/**
 * Workers write a signed checkpoint every `audit.checkpointEvery`: one ECS log line (ELK keeps
 * it off Redis) and, with `audit.checkpointDir`, one JSON line in a file there. One worker at a
 * time: a Redis lock that lapses a little before the next tick, so about one checkpoint per
 * interval whatever the number of workers. Before signing, the head entry is checked (present,
 * authentic, the head's hash, not behind the last checkpoint this process wrote): a
 * checkpoint must never vouch for a log already rewritten.
 */
import { randomUUID } from 'node:crypto';
import type Redis from 'ioredis';
import type { Logger } from '../lib/logger';
import { entryAuthentic, type ChainPoint } from './chain';
import { appendCheckpoint, signCheckpoint, type Checkpoint } from './checkpoints';
import type { RedisAuditLog } from './log';

export interface CheckpointerOptions {
  everyMs: number;
  /** Folder for checkpoint files; unset: the log line only. */
  dir?: string;
  logger: Logger;
}

export interface Checkpointer {
  /** One attempt now (the timer calls it); returns the checkpoint written, if any. */
  tick(): Promise<Checkpoint | null>;
  stop(): Promise<void>;
}

export function startCheckpointer(redis: Redis, log: RedisAuditLog, options: CheckpointerOptions): Checkpointer {
  const lock = `${log.prefix}:audit:checkpoint:lock`;
  const token = randomUUID();
  let last: ChainPoint | null = null;
  let running: Promise<Checkpoint | null> | null = null;

  const attempt = async (): Promise<Checkpoint | null> => {
    const ttl = Math.max(50, Math.floor(options.everyMs * 0.9));
    if ((await redis.set(lock, token, 'PX', ttl, 'NX')) !== 'OK') return null;
    const head = await log.head();
    if ((head.seq === 0 && !last) || (last && last.seq === head.seq && last.hash === head.hash)) return null;
    const problem = await headProblem(log, head, last);
    if (problem) {
      options.logger.error({ 'event.kind': 'alert', 'event.action': 'audit.tamper_detected', 'event.outcome': 'failure', 'event.sequence': head.seq, reason: problem }, `audit: no checkpoint written: ${problem}`);
      return null;
    }
    const checkpoint = signCheckpoint(log.keyRing, log.prefix, head);
    options.logger.info({ 'event.kind': 'event', 'event.action': 'audit.checkpoint', 'event.sequence': head.seq, 'portcullis.audit.checkpoint': checkpoint }, `audit checkpoint at seq ${head.seq}`);
    if (options.dir) await appendCheckpoint(options.dir, checkpoint);
    last = head;
    return checkpoint;
  };

  const tick = async (): Promise<Checkpoint | null> => {
    if (running) return null;
    running = attempt().catch((err: unknown) => {
      options.logger.warn({ error: err, 'event.action': 'audit.checkpoint', 'event.outcome': 'failure' }, 'audit checkpoint failed');
      return null;
    }).finally(() => { running = null; });
    return running;
  };
  const timer = setInterval(() => void tick(), options.everyMs);
  timer.unref();
  return {
    tick,
    async stop() {
      clearInterval(timer);
      await running;
    },
  };
}

async function headProblem(log: RedisAuditLog, head: ChainPoint, last: ChainPoint | null): Promise<string | null> {
  if (last && head.seq < last.seq) return `the head moved back from seq ${last.seq} to ${head.seq} (entries deleted)`;
  const entry = await log.entry(head.seq);
  if (!entry) {
    // Everything up to the head archived: the anchor is the head.
    const anchor = await log.anchor();
    return anchor && anchor.seq === head.seq && anchor.hash === head.hash ? null : `the head names seq ${head.seq}, which the stream does not hold`;
  }
  if (entry.hash !== head.hash) return `the head's hash is not entry ${head.seq}'s`;
  if (!entryAuthentic(log.keyRing, entry)) return `entry ${head.seq} is not authentic (entry altered or forged)`;
  return null;
}
