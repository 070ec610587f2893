/**
 * Reading the audit log within the caller's teams (issue 8.5). Entries name their team in
 * `details.team`; an entry without one (site-wide events such as `audit.archived`) is visible
 * only to a caller who reads every team. A page may have to read past many entries of other
 * teams, so each call scans at most `maxScan` entries and returns a cursor: `next` is the seq
 * to continue after, null at the end of the log. A page can then hold fewer than `limit` items
 * (even none) while `next` is not null.
 */
import type { AuditEntry } from './chain';
import type { AuditLog } from './log';

/** Teams the caller reads, or '*' for all (auditors, `teams: ["*"]`). */
export type TeamScope = readonly string[] | '*';

export interface AuditPage {
  items: AuditEntry[];
  next: number | null;
}

const PAGE = 500;

export function visibleTo(scope: TeamScope, entry: AuditEntry): boolean {
  if (scope === '*') return true;
  const team = entry.details?.team;
  return typeof team === 'string' && scope.includes(team);
}

export class AuditReader {
  /** @param maxScan entries read per call at most, whatever they hold. @defaultValue 5000 */
  constructor(private readonly log: Pick<AuditLog, 'list'>, private readonly maxScan = 5000) {}

  async list(scope: TeamScope, after: number, limit: number): Promise<AuditPage> {
    const items: AuditEntry[] = [];
    let cursor = after;
    for (let scanned = 0; scanned < this.maxScan;) {
      const want = Math.min(PAGE, this.maxScan - scanned);
      const page = await this.log.list(cursor, want);
      for (const e of page) {
        cursor = e.seq;
        scanned += 1;
        if (!visibleTo(scope, e)) continue;
        items.push(e);
        if (items.length === limit) return { items, next: e.seq };
      }
      if (page.length < want) return { items, next: null };
    }
    // Scan bound reached: the caller continues from where this call stopped reading.
    return { items, next: cursor };
  }
}
