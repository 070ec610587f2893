/**
 * The re-match writes reports as text joined from per-package pieces (src/monitor/rematch-text.ts):
 * it must be byte for byte the JSON.stringify of the report the matcher's objects make
 * (matchInventory on the database itself), on the real OSV corpus, with unscored advisories
 * (their coverage twins), packages with and without a layer, non-ASCII text and coverage and
 * hardening findings of the inventory.
 */
import { RematchMemo } from '../../../src/monitor/rematch-memo';
import { reportTail } from '../../../src/monitor/rematch-state';
import { matchDigest, reportText } from '../../../src/monitor/rematch-text';
import { matchInventory, type PlatformInventory } from '../../../src/scanners/builtin/match';
import { OsvDatabase } from '../../../src/scanners/osv/database';
import { loadRecords } from '../../../src/scanners/osv/loader';
import type { InstalledPackage } from '../../../src/scanners/packages';
import { summarize, type Finding, type ScanReport } from '../../../src/scanners/types';
import { realworld } from '../../harness/realworld';
import { rng } from '../../harness/seeded';

jest.setTimeout(120_000);

describe('re-match report text', () => {
  it('is the JSON.stringify of the report the matcher builds', async () => {
    const db = await OsvDatabase.load(realworld('osv'));
    const pool: InstalledPackage[] = [];
    await loadRecords(realworld('osv'), (r) => {
      for (const a of r.affected ?? []) {
        for (const version of [...(a.versions ?? []).slice(-2), '0.0.1']) pool.push({ name: a.package.name, version, ecosystem: a.package.ecosystem, path: `/srv/é/${a.package.name}` });
      }
    });
    const rand = rng(99);
    const memo = new RematchMemo(db);
    let unscored = 0;
    for (let d = 0; d < 40; d++) {
      const packages = Array.from({ length: 80 }, (_, k) => {
        const p = pool[Math.floor(rand() * pool.length)]!;
        return k % 3 === 0 ? { ...p } : { ...p, layer: `sha256:${String(k).padStart(64, '0')}` };
      });
      const coverage: Finding[] = d % 2 ? [{ id: 'PORTCULLIS-UNSCANNED-OS', aliases: [], kind: 'coverage', severity: 'unknown', title: 'OS packages not scanned: «test»', links: [] }] : [];
      const images: PlatformInventory[] = [{ manifestDigest: 'sha256:x', packages, coverage, hardening: [{ id: 'PCS-ROOT-USER', aliases: [], kind: 'misconfiguration', severity: 'medium', title: 'runs as root', links: [] }] }];
      const findings = matchInventory(images, db);
      unscored += findings.filter((f) => f.id.startsWith('PORTCULLIS-UNSCORED-SEVERITY')).length;
      const report: ScanReport = { scanner: 'builtin', status: 'succeeded', summary: summarize(findings), findings, startedAt: 't0', finishedAt: 't1', dbVersion: 'osv-1' };
      const m = matchDigest(images, memo);
      expect(m).not.toBeNull();
      expect(reportText(m!, memo, 'builtin', reportTail('t0', 't1', 'osv-1'))).toBe(JSON.stringify(report));
    }
    // Not vacuous: unscored advisories (with their twins) were among them.
    expect(unscored).toBeGreaterThan(0);
  });
});
