/**
 * The `audit` section of the configuration (zod only; lib/config-schema.ts composes it).
 * Durations are strings with a unit (`500ms`, `30s`, `5m`, `1h`) and parse to milliseconds.
 */
import { z } from 'zod';

import { durationMs } from '../lib/duration';

export const auditConfigSchema = z.strictObject({
  /** How often every API and worker process chains records left in the audit outbox. */
  drainIntervalMs: z.number().int().min(50).max(60000).default(1000).describe('how often every API and worker process chains the records waiting in the audit outbox (those written by a process that died before chaining them)'),
  /** How long an append (or a drain) keeps retrying while other processes hold the chain. */
  timeoutMs: z.number().int().min(100).default(10000).describe('how long an audit append or drain retries while other processes hold the chain (then 503; the record stays in the outbox)'),
  /** How often a worker writes a signed checkpoint (count and head hash) out of Redis. @defaultValue '5m' (300000 ms) */
  checkpointEvery: durationMs(100).prefault('5m').describe('how often one worker writes a signed checkpoint (head seq and hash) out of Redis (`500ms`, `30s`, `5m`, `1h`)'),
  /**
   * Folder (shared by the workers, outside Redis, ideally append-only or shipped off the host)
   * where checkpoints are appended as JSON lines; unset: checkpoints go to the log only.
   */
  checkpointDir: z.string().min(1).optional().describe('folder (shared by the workers, outside Redis) where checkpoints are appended as JSON lines; created at start, a worker stops naming this key if it cannot write there; unset: the ECS log line only (warning at start)'),
}).prefault({});

export type AuditConfig = z.infer<typeof auditConfigSchema>;
