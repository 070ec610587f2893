/**
 * A GO record and its GHSA twin are one finding in a scan (src/scanners/builtin/twins.ts, merged
 * in `matchImage`). The re-match must store the same report: the text path (which joins
 * per-advisory pieces and does not merge) leaves such a digest to the object path. Real records:
 * the Go database's GO-2022-1059 and GitHub's GHSA-69ch-w2m2-3vjp for golang.org/x/text.
 */
import { cpSync, mkdtempSync, rmSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { RematchMemo } from '../../../src/monitor/rematch-memo';
import { reportTail } from '../../../src/monitor/rematch-state';
import { matchDigest, reportText } from '../../../src/monitor/rematch-text';
import { matchInventory, type PlatformInventory } from '../../../src/scanners/builtin/match';
import { OsvDatabase } from '../../../src/scanners/osv/database';
import { summarize, type ScanReport } from '../../../src/scanners/types';
import { realworld } from '../../harness/realworld';

jest.setTimeout(120_000);

describe('re-match of a digest with twin findings', () => {
  let osv: string;
  beforeAll(() => {
    osv = mkdtempSync(path.join(os.tmpdir(), 'pcs-rematch-twins-'));
    cpSync(realworld('osv', 'Go', 'all.zip'), path.join(osv, 'all.zip'));
    cpSync(path.join(__dirname, '../../fixtures/osv/go-ghsa/GHSA-69ch-w2m2-3vjp.json'), path.join(osv, 'GHSA-69ch-w2m2-3vjp.json'));
  });
  afterAll(() => rmSync(osv, { recursive: true, force: true }));

  it('is not written as text, and only a digest without twins is', async () => {
    const db = await OsvDatabase.load(osv);
    const memo = new RematchMemo(db);
    const image = (version: string): PlatformInventory[] => [{
      manifestDigest: 'sha256:x', coverage: [], hardening: [],
      packages: [{ name: 'golang.org/x/text', version, ecosystem: 'Go', path: '/usr/bin/app', layer: `sha256:${'1'.repeat(64)}` }],
    }];
    // v0.3.7: affected by both records, which the scan merges into one finding led by the GO id.
    const twins = image('v0.3.7');
    const merged = matchInventory(twins, db).filter((f) => f.kind === 'vulnerability' && f.package === 'golang.org/x/text');
    expect(merged.map((f) => f.id)).toContain('GO-2022-1059');
    expect(merged.map((f) => f.id)).not.toContain('GHSA-69ch-w2m2-3vjp');
    expect(matchDigest(twins, memo)).toBeNull();

    // v0.3.8 is fixed for both: nothing to merge, so the text path writes it, as the scan would.
    const fixed = image('v0.3.8');
    const findings = matchInventory(fixed, db);
    const report: ScanReport = { scanner: 'builtin', status: 'succeeded', summary: summarize(findings), findings, startedAt: 't0', finishedAt: 't1', dbVersion: 'osv-1' };
    const m = matchDigest(fixed, memo);
    expect(m).not.toBeNull();
    expect(reportText(m!, memo, 'builtin', reportTail('t0', 't1', 'osv-1'))).toBe(JSON.stringify(report));
  });
});
