/** The re-match's memo gives exactly the findings of the database it wraps, each at its own place. */
import { RematchMemo } from '../../../src/monitor/rematch-memo';
import { OsvDatabase } from '../../../src/scanners/osv/database';
import type { InstalledPackage } from '../../../src/scanners/packages';

describe('RematchMemo', () => {
  const db = new OsvDatabase();
  db.add({ id: 'PYSEC-0000-1', modified: '2024-01-01T00:00:00Z', summary: 'x', affected: [{ package: { ecosystem: 'PyPI', name: 'requests' }, ranges: [{ type: 'ECOSYSTEM', events: [{ introduced: '0' }, { fixed: '2.31.0' }] }], versions: ['2.30.0', '2.29.0'] }] } as never);

  it('answers like the database for the same package at two places, with each place', () => {
    const memo = new RematchMemo(db);
    const a: InstalledPackage = { name: 'requests', version: '2.30.0', ecosystem: 'PyPI', path: '/venv1/requests.dist-info/METADATA', layer: 'sha256:aa' };
    const b: InstalledPackage = { ...a, path: '/venv2/requests.dist-info/METADATA', layer: 'sha256:bb' };
    const c: InstalledPackage = { ...a, version: '2.31.0' };
    for (const p of [a, b, c, a]) expect(memo.findingsFor(p)).toEqual(db.findingsFor(p));
    expect(memo.findingsFor(b)[0]).toMatchObject({ path: b.path, layer: 'sha256:bb', fixedVersion: '2.31.0' });
    expect(memo.findingsFor(c)).toEqual([]);
  });
});
