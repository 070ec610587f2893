import path from 'node:path';
import { OsvDatabase } from '../../../../src/scanners/osv/database';
import { fingerprint } from '../../../../src/scanners/osv/loader';
import type { InstalledPackage } from '../../../../src/scanners/packages';

const DB = path.join(__dirname, '../../../fixtures/osv/db');

describe('OsvDatabase over the fixture folder (JSON files and an all.zip export)', () => {
  let db: OsvDatabase;
  beforeAll(async () => {
    db = await OsvDatabase.load(DB);
  });

  const pkg = (p: Partial<InstalledPackage> & Pick<InstalledPackage, 'name' | 'version' | 'ecosystem'>): InstalledPackage => ({
    path: '/var/lib/dpkg/status',
    ...p,
  });

  test('counts records, skips the broken one and the non-JSON zip entry', () => {
    expect(db.loadStats).toEqual({ files: 11, records: 10, invalid: 1 });
  });

  test('Debian advisories match through the source package and carry the computed severity', () => {
    const [f, ...rest] = db.findingsFor(
      pkg({ name: 'libssl3', sourceName: 'openssl', version: '3.0.11-1~deb12u1', ecosystem: 'Debian:12' }),
    );
    expect(rest).toHaveLength(0);
    expect(f).toMatchObject({
      id: 'DSA-5532-1',
      aliases: ['CVE-2023-5363'],
      kind: 'vulnerability',
      package: 'libssl3',
      installedVersion: '3.0.11-1~deb12u1',
      fixedVersion: '3.0.11-1~deb12u2',
      severity: 'critical',
      cvss: { version: '3.1', score: 9.8 },
      links: ['https://www.debian.org/security/2023/dsa-5532'],
    });
  });

  test('the release suffix keeps another release’s advisory out', () => {
    expect(db.findingsFor(pkg({ name: 'libc6', sourceName: 'glibc', version: '2.36-9+deb12u1', ecosystem: 'Debian:12' }))
      .map((f) => f.fixedVersion)).toEqual(['2.36-9+deb12u3']);
    expect(db.findingsFor(pkg({ name: 'libc6', sourceName: 'glibc', version: '2.36-9+deb12u1', ecosystem: 'Debian:13' }))).toEqual([]);
  });

  test('the source version is matched when dpkg records one (binNMU)', () => {
    const [f] = db.findingsFor(pkg({ name: 'libfoo1', sourceName: 'foo', version: '1.2-3+b1', sourceVersion: '1.2-3', ecosystem: 'Debian:12' }));
    expect(f).toMatchObject({ id: 'DEBIAN-CVE-2024-0001', installedVersion: '1.2-3+b1', fixedVersion: '1.2-4', severity: 'medium' });
    expect(f?.aliases).toEqual(['CVE-2024-0001']);
    expect(f?.title).toBe('foo: heap overflow in the parser');
  });

  test('npm: SEMVER ranges; a v4-only vector is scored', () => {
    expect(db.findingsFor(pkg({ name: 'lodash', version: '4.17.20', ecosystem: 'npm' }))[0]).toMatchObject({ severity: 'high', fixedVersion: '4.17.21' });
    expect(db.findingsFor(pkg({ name: 'lodash', version: '4.17.21', ecosystem: 'npm' }))).toEqual([]);
    const [m] = db.findingsFor(pkg({ name: 'minimist', version: '1.2.5', ecosystem: 'npm' }));
    expect(m).toMatchObject({ severity: 'critical', cvss: { version: '4.0', score: 9.3 } });
  });

  test('PyPI: names are normalized, withdrawn advisories ignored, zip records loaded', () => {
    const j = db.findingsFor(pkg({ name: 'Jinja2', version: '3.1.2', ecosystem: 'PyPI' }));
    expect(j.map((f) => [f.id, f.severity, f.fixedVersion])).toEqual([['GHSA-h5c8-rqwp-cp95', 'medium', '3.1.3']]);
    const [r] = db.findingsFor(pkg({ name: 'requests', version: '2.28.1', ecosystem: 'PyPI' }));
    expect(r).toMatchObject({ id: 'PYSEC-2023-74', fixedVersion: '2.31.0', severity: 'medium', cvss: { score: 6.1 } });
    expect(db.findingsFor(pkg({ name: 'requests', version: '2.2.0', ecosystem: 'PyPI' }))).toEqual([]);
  });

  test('Alpine advisories match through the origin', () => {
    const [f] = db.findingsFor(pkg({ name: 'ssl_client', sourceName: 'busybox', version: '1.36.1-r28', ecosystem: 'Alpine:v3.20' }));
    expect(f).toMatchObject({ id: 'ALPINE-CVE-2023-42363', package: 'ssl_client', fixedVersion: '1.36.1-r29', severity: 'medium' });
  });

  test('the fingerprint is stable and changes when the data does', async () => {
    const a = await fingerprint(DB);
    expect(await fingerprint(DB)).toBe(a);
    expect(await fingerprint(path.join(DB, 'npm'))).not.toBe(a);
  });

  test('a missing folder is SCANNER_UNAVAILABLE', async () => {
    await expect(OsvDatabase.load('/nonexistent/osv')).rejects.toMatchObject({ code: 'SCANNER_UNAVAILABLE' });
  });
});
