/**
 * Wiring only: what the console shows of post-approval monitoring, read from the monitor
 * (approval health, daily snapshots) and the inventory (scanner data freshness, SBOMs). The
 * console's narrow interfaces (src/ui/data/monitoring.ts) stay free of the monitor's types, and
 * the monitor knows nothing of the console; main.ts passes this to the console.
 */
import type { Principal } from './lib/identity/types';
import type { DriftHistoryService, HealthViews, SnapshotService } from './monitor';
import type { Inventory } from './monitor/inventory-wiring';
import type { DailySnapshot, Monitoring } from './ui/data/monitoring';

const DAY_MS = 86_400_000;

/** A reader of every team given, for the monitor's own team checks (the console has already filtered). */
function readerOf(teams: readonly string[] | '*'): Principal {
  return { name: 'console', roles: ['auditor'], teams: teams === '*' ? ['*'] : [...teams], subject: 'system:console' };
}

export function consoleMonitoring(d: {
  views: HealthViews;
  snapshots: SnapshotService;
  /** Upstream moves of approved tags; absent: the Alerts page says drift is not configured. */
  drift?: Pick<DriftHistoryService, 'recent'>;
  inventory: Pick<Inventory, 'status' | 'sbom'>;
  /** Age in ms past which a scanner's data is stale. */
  staleAfterMs: (scanner: string) => number;
}): Monitoring {
  return {
    health: {
      configured: true,
      atRisk: async (teams) => (await d.views.atRisk(teams)).map((r) => ({
        team: r.team, image: r.image, digest: r.digest, requestId: r.requestId, since: r.since,
        ...(r.deadline ? { deadline: r.deadline } : {}),
        reason: [...new Set(r.blocking.map((b) => b.cause))].join(', ') || 'at risk',
        newFindings: r.blocking.map((b) => ({ id: b.id, severity: b.severity, ...(b.package ? { package: b.package } : {}) })),
      })),
      healthOf: async (team, image, digest) => (await d.views.of([{ team, image, digest }]))[0]?.state ?? null,
    },
    snapshots: {
      configured: true,
      list: async (teams, fromDay, toDay) => {
        const days = Math.max(1, Math.round((Date.now() - Date.parse(`${fromDay}T00:00:00Z`)) / DAY_MS) + 1);
        const rows = await d.snapshots.read(readerOf(teams), { days });
        return rows.filter((s) => (teams === '*' || teams.includes(s.team)) && s.day >= fromDay && s.day <= toDay)
          .sort((a, b) => a.day.localeCompare(b.day))
          .map((s): DailySnapshot => ({
            team: s.team, day: s.day, byState: s.requests, uniqueCves: s.approved.uniqueCves, instances: s.approved.instances,
            atRisk: s.atRisk.total, meanTimeToDecisionSeconds: s.meanTimeToDecisionSeconds,
          }));
      },
    },
    freshness: {
      configured: true,
      list: async () => (await d.inventory.status.list()).map((s) => ({
        scanner: s.name,
        ...(s.dbVersion ? { dataVersion: s.dbVersion } : {}),
        ...(s.sync.lastSyncAt ?? s.dataChangedAt ? { updatedAt: (s.sync.lastSyncAt ?? s.dataChangedAt) as string } : {}),
        // Unknown age (never synced or observed) is unknown, never fresh.
        stale: s.ageSeconds === null ? null : s.ageSeconds * 1000 > d.staleAfterMs(s.name),
      })),
    },
    drift: d.drift ? {
      configured: true,
      // `teams` are the signed-in reader's (readableTeams): the history is read for exactly those.
      recent: async (teams, limit) => (await (d.drift as Pick<DriftHistoryService, 'recent'>).recent(teams, limit)).map((e) => ({
        team: e.team, image: e.image, tag: e.tag, oldDigest: e.fromDigest, newDigest: e.toDigest, at: e.at,
        ...(e.requestId ? { requestId: e.requestId } : {}),
      })),
    } : { configured: false, recent: async () => [] },
    sbom: {
      get: async (p, digest) => d.inventory.sbom.get(p, digest).catch((err: unknown) => {
        if ((err as { code?: string }).code === 'NOT_FOUND') return null;
        throw err;
      }),
    },
  };
}

/**
 * Stale: two sync intervals missed for a scanner with a scheduled sync, a day for the others
 * (remote scanners keep their own data; a day without a version change is worth a look).
 */
export function staleAfter(scanners: ReadonlyArray<{ name: string; type: string; sync?: { every: number } }>): (scanner: string) => number {
  return (name) => {
    const s = scanners.find((x) => x.name === name);
    return s?.sync ? 2 * s.sync.every : DAY_MS;
  };
}
