/**
 * Daily snapshots per team (issue 13.6), for the console's trends: requests by state, unique
 * CVEs and their instances by severity over the approved images (their current findings),
 * at-risk approvals, and the mean time to decision of the day's decisions. Written by a
 * scheduled job (queue/monitor.ts), once per team and UTC day, kept `monitor.snapshots.retentionDays`.
 * Read with `GET /v1/snapshots?team=&days=`: readers of the team; auditors and `*` members every team.
 */
import { AppError } from '../lib/errors';
import type { Principal } from '../lib/identity/types';
import { SEVERITIES, type Finding, type Severity, type SeveritySummary } from '../scanners/types';
import { REQUEST_STATUSES, type Approval, type IntakeRequest, type RequestStatus, type RequestStore } from '../store/types';
import type { HealthService } from './health';
import type { TeamSnapshot } from './snapshot-store';

export type { TeamSnapshot };
import type { RedisSnapshotStore } from './snapshot-store';


const DAY_MS = 86_400_000;
/** Requests read back from the newest when looking for the day's decisions (a decision follows its request within this window). */
const DECISION_LOOKBACK_MS = 90 * DAY_MS;
const zero = (): SeveritySummary => ({ critical: 0, high: 0, medium: 0, low: 0, unknown: 0 });

export interface SnapshotDeps {
  store: RedisSnapshotStore;
  requests: Pick<RequestStore, 'count' | 'list' | 'get'>;
  health: HealthService;
  /** Every completed approval (the ledger snapshot). */
  all: () => Promise<Approval[]>;
  retentionDays: number;
}

export class SnapshotService {
  constructor(private readonly d: SnapshotDeps) {}

  /** Writes today's snapshot of every active team (those already written today are left as they are). */
  async run(): Promise<{ day: string; written: string[] }> {
    const now = this.d.health.now();
    const day = now.toISOString().slice(0, 10);
    const approvals = await this.d.all();
    const teams = new Set([...await this.d.store.activeTeams(), ...approvals.map((a) => a.team)]);
    const keepFrom = Date.parse(`${day}T00:00:00Z`) - (this.d.retentionDays - 1) * DAY_MS;
    const written: string[] = [];
    for (const team of [...teams].sort()) {
      const snapshot = await this.build(team, day, now, approvals.filter((a) => a.team === team));
      if (await this.d.store.write(snapshot, keepFrom)) written.push(team);
    }
    return { day, written };
  }

  async build(team: string, day: string, now: Date, approvals: readonly Approval[]): Promise<TeamSnapshot> {
    const requests = Object.fromEntries(await Promise.all(REQUEST_STATUSES.map(async (s) => [s, await this.d.requests.count(team, s)] as const))) as Record<RequestStatus, number>;
    const uniques = new Map<Severity, Set<string>>(SEVERITIES.map((s) => [s, new Set<string>()]));
    const instances = zero();
    const bySeverity = zero();
    let atRisk = 0;
    const health = await this.d.health.of(approvals);
    for (const [i, a] of approvals.entries()) {
      const findings = await this.findingsOf(a);
      const seen = new Set<string>();
      for (const f of findings) {
        if (f.kind !== 'vulnerability' || seen.has(`${f.id}|${f.package ?? ''}`)) continue;
        seen.add(`${f.id}|${f.package ?? ''}`);
        uniques.get(f.severity)?.add(f.id);
        instances[f.severity] += 1;
      }
      const h = health[i];
      if (h?.state === 'at_risk') {
        atRisk += 1;
        const worst = SEVERITIES.find((s) => h.blocking.some((b) => b.severity === s)) ?? 'unknown';
        bySeverity[worst] += 1;
      }
    }
    const uniqueCves = zero();
    for (const s of SEVERITIES) uniqueCves[s] = uniques.get(s)?.size ?? 0;
    const { mean, count } = await this.decisionTimes(team, day);
    return {
      team, day, generatedAt: now.toISOString(), requests,
      approved: { images: approvals.length, uniqueCves, instances },
      atRisk: { total: atRisk, bySeverity }, meanTimeToDecisionSeconds: mean, decisions: count,
    };
  }

  private async findingsOf(a: Approval): Promise<Finding[]> {
    const request = await this.d.requests.get(a.requestId);
    return request ? this.d.health.currentFindings(request, a.digest) : [];
  }

  /** Mean request-to-decision time of the requests whose final decision fell on `day`. */
  private async decisionTimes(team: string, day: string): Promise<{ mean: number | null; count: number }> {
    const start = Date.parse(`${day}T00:00:00Z`);
    const end = start + DAY_MS;
    let total = 0;
    let count = 0;
    for (let cursor: string | undefined; ;) {
      const page = await this.d.requests.list({ teams: [team], limit: 200, order: 'desc', ...(cursor ? { cursor } : {}) });
      for (const r of page.items) {
        const at = finalDecisionAt(r);
        if (at !== null && at >= start && at < end) {
          total += (at - Date.parse(r.createdAt)) / 1000;
          count += 1;
        }
      }
      const oldest = page.items[page.items.length - 1];
      if (!page.next || !oldest || Date.parse(oldest.createdAt) < start - DECISION_LOOKBACK_MS) break;
      cursor = page.next;
    }
    return { mean: count ? Math.round(total / count) : null, count };
  }

  /** Snapshots of the last `days` days: of `team`, or with no team of every team the caller reads. */
  async read(p: Principal, q: { team?: string; days: number }): Promise<TeamSnapshot[]> {
    if (!p.roles.some((r) => ['developer', 'approver', 'admin', 'auditor'].includes(r))) {
      throw new AppError('FORBIDDEN', 'reading snapshots needs one of the roles: developer, approver, admin, auditor');
    }
    const everyTeam = p.roles.includes('auditor') || p.teams.includes('*');
    if (q.team && !everyTeam && !p.teams.includes(q.team)) throw new AppError('NOT_FOUND', `team ${q.team} not found`);
    const teams = q.team ? [q.team] : everyTeam ? await this.d.store.teams() : [...p.teams].sort();
    const today = Date.parse(`${this.d.health.now().toISOString().slice(0, 10)}T00:00:00Z`);
    const from = today - (q.days - 1) * DAY_MS;
    return (await Promise.all(teams.map((t) => this.d.store.read(t, from)))).flat();
  }
}

/** When the request's decision became final (approved, rejected), or null. */
function finalDecisionAt(r: Pick<IntakeRequest, 'status' | 'decisions'>): number | null {
  if (r.status !== 'approved' && r.status !== 'rejected' && r.status !== 'promoting' && r.status !== 'revoked') return null;
  const last = r.decisions[r.decisions.length - 1];
  return last ? Date.parse(last.at) : null;
}
