/**
 * Changes to a set of OSV records of the kinds the OSV feeds publish day to day, drawn with a
 * seeded PRNG (./seeded.ts): for the delta re-match's test and bench:monitor. Each change is
 * one record: `metadata` (modified time, database_specific, details: nothing a finding shows),
 * `title`, `references` (a new first link), `severity` (a CVSS vector added, or the scores
 * dropped), `range` (a fix added or taken back, a listed version dropped), `alias` (another
 * record's id as an alias: its severity may now be borrowed), `withdrawn`, `removed`, `added`
 * (a new advisory for a package an existing one names), `moved` (the same record elsewhere in
 * the data: index order).
 */
import type { OsvRecord } from '../../src/scanners/osv/schema';

export const CHANGE_KINDS = ['metadata', 'title', 'references', 'severity', 'range', 'alias', 'withdrawn', 'removed', 'added', 'moved'] as const;
export type ChangeKind = (typeof CHANGE_KINDS)[number];

export interface ChangePlan {
  /** Only records whose first affected package is of this ecosystem (base name, e.g. `PyPI`); any when absent. */
  ecosystem?: string;
  kind: ChangeKind;
  count: number;
}

const ecosystemOf = (r: OsvRecord): string => (r.affected?.[0]?.package.ecosystem ?? '').split(':', 1)[0] ?? '';

/** `records` with the planned changes applied (a new array; the input is not modified), and how many records changed. */
export function changeRecords(records: readonly OsvRecord[], plan: readonly ChangePlan[], rand: () => number, tag = 'x'): { records: OsvRecord[]; changed: number } {
  const out: Array<OsvRecord | null> = [...records];
  const touched = new Set<number>();
  let serial = 0;
  for (const step of plan) {
    const pool = out.map((r, i) => (r && (!step.ecosystem || ecosystemOf(r) === step.ecosystem) && !touched.has(i) ? i : -1)).filter((i) => i >= 0);
    for (let n = 0; n < step.count && pool.length > 0; n++) {
      const i = pool.splice(Math.floor(rand() * pool.length), 1)[0]!;
      touched.add(i);
      const r = structuredClone(out[i]!);
      const when = `2026-12-0${1 + (serial % 8)}T0${serial % 10}:00:00Z`;
      serial += 1;
      r.modified = when;
      switch (step.kind) {
        case 'metadata':
          r.database_specific = { ...r.database_specific, portcullis_seen: `${tag}-${serial}` };
          if (r.details !== undefined && r.summary) r.details = `${r.details}\n\nUpdated ${when}.`;
          break;
        case 'title':
          r.summary = `${r.summary ?? r.id} (revised ${tag}-${serial})`;
          break;
        case 'references':
          r.references = [{ type: 'ADVISORY', url: `https://osv.example/${tag}/${serial}` }, ...(r.references ?? [])];
          break;
        case 'severity':
          if (r.severity?.length || r.database_specific?.severity) {
            delete r.severity;
            if (r.database_specific) delete r.database_specific.severity;
          } else r.severity = [{ type: 'CVSS_V3', score: rand() < 0.5 ? 'CVSS:3.1/AV:N/AC:L/PR:N/UI:N/S:U/C:H/I:H/A:H' : 'CVSS:3.1/AV:N/AC:H/PR:L/UI:R/S:U/C:L/I:N/A:N' }];
          break;
        case 'range': {
          const a = r.affected?.find((x) => (x.ranges ?? []).some((g) => g.type !== 'GIT'));
          const range = a?.ranges?.find((g) => g.type !== 'GIT');
          if (!a || !range) break;
          const fixed = range.events.findIndex((e) => 'fixed' in e);
          if (fixed >= 0) range.events.splice(fixed, 1);
          else if (a.versions?.length) range.events.push({ fixed: a.versions[a.versions.length - 1]! });
          if (range.events.length === 0) range.events.push({ introduced: '0' });
          a.versions = a.versions?.slice(0, -1);
          break;
        }
        case 'alias': {
          const other = out[Math.floor(rand() * out.length)];
          if (other) r.aliases = [...(r.aliases ?? []), other.id];
          break;
        }
        case 'withdrawn':
          r.withdrawn = when;
          break;
        case 'removed':
          out[i] = null;
          continue;
        case 'added': {
          const other = out[Math.floor(rand() * out.length)];
          r.id = `PORTCULLIS-${tag}-${serial}`;
          r.aliases = rand() < 0.3 && other ? [other.id] : [];
          r.summary = `new advisory ${tag}-${serial}`;
          out.push(r);
          continue;
        }
        case 'moved':
          out[i] = null;
          out.push(r);
          continue;
      }
      out[i] = r;
    }
  }
  return { records: out.filter((r): r is OsvRecord => r !== null), changed: touched.size };
}
