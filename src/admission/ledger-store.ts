/**
 * The admission ledger in Redis. Every record goes to one capped stream (the recent decisions,
 * allowed or not, of both webhooks); each record of a team's digest that runs (a Pod the
 * validating webhook admitted) also scores its workload in a sorted set per (team, digest), member = the workload, score = when it was last admitted, so that
 * "where is this digest running?" is one range read, deduplicated by construction. Workloads not
 * admitted again within `retentionMs` fall out (a Pod admitted once and running for longer than
 * that is not seen: the ledger knows admissions, not the kubelet's state).
 */
import type Redis from 'ioredis';
import type { AdmissionRecord, RecordSink } from './recorder';

/** One workload that was admitted with a digest. */
export interface WorkloadSeen {
  team: string;
  namespace: string;
  kind: string;
  name: string;
  image: string;
  lastSeen: string;
}

/** What the API and the revocation event read. */
export interface WorkloadReader {
  /** The workloads of `teams` last admitted with `digest` within the retention, most recent first. */
  workloads(digest: string, teams: readonly string[] | '*', limit: number): Promise<WorkloadSeen[]>;
}

export interface LedgerStoreOptions {
  /** How long a workload counts as running after its last admission. @defaultValue 30 days */
  retentionMs: number;
  /** Approximate length of the stream of recent decisions. @defaultValue 100000 */
  streamLength: number;
  now?: () => number;
}

/**
 * Whether a record says its workload runs its digest: a Pod the validating webhook admitted.
 * Not a mutation: the API server calls the mutating webhook first, and the validating one may
 * still deny the Pod (another of its images is not approved), so a pin alone says nothing runs;
 * the admitted Pod's validation records the pinned reference itself. Not a workload controller's
 * template either: its review is allowed with warnings only, and its Pods may all be denied; the
 * Pods it makes are recorded under it (recorder.ts, workloadOf) when they are admitted.
 */
function runs(r: AdmissionRecord): r is AdmissionRecord & { team: string; digest: string } {
  return r.endpoint === 'validate' && r.allowed && r.kind === 'Pod' && r.team !== undefined && r.digest !== undefined;
}

export class RedisAdmissionLedger implements RecordSink, WorkloadReader {
  private readonly now: () => number;

  constructor(private readonly redis: Redis, private readonly prefix: string, private readonly options: LedgerStoreOptions) {
    this.now = options.now ?? Date.now;
  }

  private stream(): string {
    return `${this.prefix}:admission:decisions`;
  }

  private workloadKey(team: string, digest: string): string {
    return `${this.prefix}:admission:workloads:${team}:${digest}`;
  }

  /** The teams that admitted `digest`, so that a reader with every team needs no SCAN. */
  private teamsKey(digest: string): string {
    return `${this.prefix}:admission:digest-teams:${digest}`;
  }

  async write(records: readonly AdmissionRecord[]): Promise<void> {
    const m = this.redis.multi();
    const cutoff = this.now() - this.options.retentionMs;
    const touched = new Set<string>();
    for (const r of records) {
      m.xadd(this.stream(), 'MAXLEN', '~', String(this.options.streamLength), '*', 'record', JSON.stringify(r));
      if (!runs(r)) continue;
      const key = this.workloadKey(r.team, r.digest);
      // Fixed key order: one workload running one image is one member, whatever the decision;
      // only validation's records count (a mutate pin is seen again there as the pinned reference).
      m.zadd(key, 'GT', String(r.at), JSON.stringify([r.namespace, r.workload.kind, r.workload.name, r.image]));
      m.sadd(this.teamsKey(r.digest), r.team);
      touched.add(`${r.team}\u0000${r.digest}`);
    }
    for (const t of touched) {
      const [team, digest] = t.split('\u0000');
      m.zremrangebyscore(this.workloadKey(team, digest), '-inf', `(${cutoff}`);
      m.pexpire(this.workloadKey(team, digest), this.options.retentionMs);
      m.pexpire(this.teamsKey(digest), this.options.retentionMs);
    }
    const results = await m.exec();
    const failed = results?.find(([err]) => err);
    if (failed) throw failed[0];
  }

  async workloads(digest: string, teams: readonly string[] | '*', limit: number): Promise<WorkloadSeen[]> {
    const all = teams === '*' ? await this.redis.smembers(this.teamsKey(digest)) : [...teams];
    const cutoff = this.now() - this.options.retentionMs;
    const out: WorkloadSeen[] = [];
    for (const team of all.sort()) {
      const flat = await this.redis.zrange(this.workloadKey(team, digest), '+inf', String(cutoff), 'BYSCORE', 'REV', 'LIMIT', 0, limit, 'WITHSCORES');
      for (let i = 0; i < flat.length; i += 2) {
        const [namespace, kind, name, image] = JSON.parse(flat[i]) as string[];
        out.push({ team, namespace, kind, name, image, lastSeen: new Date(Number(flat[i + 1])).toISOString() });
      }
    }
    return out.sort((a, b) => b.lastSeen.localeCompare(a.lastSeen)).slice(0, limit);
  }
}
