/**
 * Signed checkpoints: the count (head seq) and head hash of the chain at a moment, MAC'd with
 * the audit key and kept out of Redis (an ECS log line for ELK, and JSON lines in
 * `audit.checkpointDir`). A Redis writer who rewrites, renumbers, truncates or deletes the log
 * can recompute nothing that matches a checkpoint already written. The verifier reads our own
 * files and ELK exports alike: any JSON line holding a checkpoint, at the top level or under
 * `portcullis.audit.checkpoint`.
 */
import { open, readdir, readFile } from 'node:fs/promises';
import path from 'node:path';
import { z } from 'zod';
import { canonicalJson, type ChainPoint } from './chain';
import type { AuditKeyring } from './keys';

export const CHECKPOINT_TYPE = 'portcullis.audit.checkpoint';

export interface Checkpoint {
  type: typeof CHECKPOINT_TYPE;
  /** The `redis.prefix` of the log: checkpoints of another instance never match this one. */
  prefix: string;
  seq: number;
  hash: string;
  /** When it was taken (ISO 8601). */
  at: string;
  keyId: string;
  mac: string;
}

const checkpointSchema = z.object({
  type: z.literal(CHECKPOINT_TYPE),
  prefix: z.string(),
  seq: z.number().int().min(0),
  hash: z.string(),
  at: z.string(),
  keyId: z.string(),
  mac: z.string(),
});

const message = (c: Pick<Checkpoint, 'prefix' | 'seq' | 'hash' | 'at'>): string => canonicalJson({ prefix: c.prefix, seq: c.seq, hash: c.hash, at: c.at });

export function signCheckpoint(keys: AuditKeyring, prefix: string, head: ChainPoint, at = new Date()): Checkpoint {
  const body = { prefix, seq: head.seq, hash: head.hash, at: at.toISOString() };
  return { type: CHECKPOINT_TYPE, ...body, ...keys.sign('checkpoint', message(body)) };
}

export function checkpointAuthentic(keys: AuditKeyring, c: Checkpoint): boolean {
  return keys.check(c.keyId, 'checkpoint', message(c), c.mac);
}

/** A checkpoint found in a line, or null for any other line (an ELK export holds every log line). */
export function parseCheckpointLine(line: string): Checkpoint | null {
  if (!line.includes(CHECKPOINT_TYPE)) return null;
  let value: unknown;
  try {
    value = JSON.parse(line);
  } catch {
    return null;
  }
  const nested = typeof value === 'object' && value !== null ? (value as Record<string, unknown>)['portcullis.audit.checkpoint'] : undefined;
  const parsed = checkpointSchema.safeParse(nested ?? value);
  return parsed.success ? (parsed.data as Checkpoint) : null;
}

export interface FoundCheckpoint {
  checkpoint: Checkpoint;
  /** `file:line`, for messages. */
  where: string;
}

/** Every checkpoint of `prefix` in the regular files of `dir` (not recursive). */
export async function readCheckpoints(dir: string, prefix: string): Promise<FoundCheckpoint[]> {
  const found: FoundCheckpoint[] = [];
  const names = (await readdir(dir, { withFileTypes: true })).filter((d) => d.isFile()).map((d) => d.name).sort();
  for (const name of names) {
    const lines = (await readFile(path.join(dir, name), 'utf8')).split('\n');
    lines.forEach((line, i) => {
      const checkpoint = parseCheckpointLine(line);
      if (checkpoint && checkpoint.prefix === prefix) found.push({ checkpoint, where: `${name}:${i + 1}` });
    });
  }
  return found;
}

/**
 * Appends one line to the day's file of this prefix (`checkpoints-<prefix>-<YYYY-MM-DD>.jsonl`),
 * synced to disk before returning: one short write on an O_APPEND file, so lines never interleave.
 */
export async function appendCheckpoint(dir: string, c: Checkpoint): Promise<string> {
  const safePrefix = c.prefix.replace(/[^A-Za-z0-9._-]/g, '_');
  const file = path.join(dir, `checkpoints-${safePrefix}-${c.at.slice(0, 10)}.jsonl`);
  const handle = await open(file, 'a', 0o640);
  try {
    await handle.write(`${JSON.stringify(c)}\n`);
    await handle.sync();
  } finally {
    await handle.close();
  }
  return file;
}
