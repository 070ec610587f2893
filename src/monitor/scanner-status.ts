/**
 * The state of each scanner's vulnerability data, shared by every process through Redis:
 * workers record the data version they see (at start, after each sync, after a Clair
 * notification) and the outcome of each scheduled sync; the API (which runs no scanner) reads
 * it for `GET /v1/scanners`, and every process's metrics for `portcullis_vulndb_age_seconds`.
 * The age is the time since the data version last changed (or, for a scanner synced on a
 * schedule, since its last successful sync, which confirms the data is current).
 */
import type Redis from 'ioredis';
import { z } from 'zod';
import { scrubSecrets } from '../lib/logger';

const recordSchema = z.object({
  dbVersion: z.string().nullable(),
  /** When `dbVersion` last changed (ISO 8601). */
  dataChangedAt: z.string().nullable(),
  lastSyncAt: z.string().nullable(),
  lastSyncStatus: z.enum(['ok', 'failed']).nullable(),
  lastSyncError: z.string().nullable(),
});
type StatusRecord = z.infer<typeof recordSchema>;

export interface ScannerEntry {
  name: string;
  type: string;
  /** Sync interval in ms for a builtin scanner with `sync`; else undefined. */
  syncEveryMs?: number;
}

export interface ScannerStatus {
  name: string;
  type: string;
  dbVersion: string | null;
  dataChangedAt: string | null;
  /** Seconds since the data was last confirmed current (last successful sync, or last version change). */
  ageSeconds: number | null;
  sync: { scheduled: boolean; every: string | null; lastSyncAt: string | null; status: 'never' | 'ok' | 'failed'; error: string | null };
}

const EMPTY: StatusRecord = { dbVersion: null, dataChangedAt: null, lastSyncAt: null, lastSyncStatus: null, lastSyncError: null };

function humanEvery(ms: number): string {
  if (ms % 3_600_000 === 0) return `${ms / 3_600_000}h`;
  if (ms % 60_000 === 0) return `${ms / 60_000}m`;
  return `${ms / 1000}s`;
}

export class ScannerStatusStore {
  constructor(private readonly redis: Redis, private readonly prefix: string, private readonly entries: readonly ScannerEntry[], private readonly now: () => number = Date.now) {}

  private key(name: string): string {
    return `${this.prefix}:scanner-status:${name}`;
  }

  private async read(name: string): Promise<StatusRecord> {
    const raw = await this.redis.get(this.key(name));
    if (!raw) return { ...EMPTY };
    const parsed = recordSchema.safeParse(JSON.parse(raw));
    return parsed.success ? parsed.data : { ...EMPTY };
  }

  private async write(name: string, change: (r: StatusRecord) => StatusRecord): Promise<void> {
    // Last writer wins: the record is a report of the latest observation, not a ledger.
    await this.redis.set(this.key(name), JSON.stringify(change(await this.read(name))));
  }

  /** The data version a worker sees now; `dataChangedAt` moves when it differs from the last one recorded. */
  async observe(name: string, dbVersion: string): Promise<void> {
    const at = new Date(this.now()).toISOString();
    await this.write(name, (r) => (r.dbVersion === dbVersion ? r : { ...r, dbVersion, dataChangedAt: at }));
  }

  async syncSucceeded(name: string, dbVersion: string): Promise<void> {
    const at = new Date(this.now()).toISOString();
    await this.write(name, (r) => ({ ...r, dbVersion, dataChangedAt: r.dbVersion === dbVersion ? r.dataChangedAt ?? at : at, lastSyncAt: at, lastSyncStatus: 'ok', lastSyncError: null }));
  }

  async syncFailed(name: string, error: string): Promise<void> {
    const at = new Date(this.now()).toISOString();
    await this.write(name, (r) => ({ ...r, lastSyncAt: at, lastSyncStatus: 'failed', lastSyncError: scrubSecrets(error).slice(0, 500) }));
  }

  async list(): Promise<ScannerStatus[]> {
    const now = this.now();
    return Promise.all(this.entries.map(async (e): Promise<ScannerStatus> => {
      const r = await this.read(e.name);
      const okSync = r.lastSyncStatus === 'ok' ? r.lastSyncAt : null;
      const since = [okSync, r.dataChangedAt].filter((v): v is string => v !== null).map((v) => Date.parse(v)).sort((a, b) => b - a)[0];
      return {
        name: e.name, type: e.type, dbVersion: r.dbVersion, dataChangedAt: r.dataChangedAt,
        ageSeconds: since === undefined ? null : Math.max(0, Math.round((now - since) / 1000)),
        sync: {
          scheduled: e.syncEveryMs !== undefined, every: e.syncEveryMs !== undefined ? humanEvery(e.syncEveryMs) : null,
          lastSyncAt: r.lastSyncAt, status: r.lastSyncStatus ?? 'never', error: r.lastSyncError,
        },
      };
    }));
  }
}
