import path from 'node:path';
import { OsvDatabase } from '../../../../src/scanners/osv/database';
import { osvRecordSchema } from '../../../../src/scanners/osv/schema';
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

describe('an unscored advisory takes the severity another record gives the same vulnerability', () => {
  const goRange = (name: string) => [{ package: { ecosystem: 'Go', name }, ranges: [{ type: 'SEMVER', events: [{ introduced: '0' }, { fixed: '1.19.11' }] }] }];
  const GO = { id: 'GO-2023-1878', modified: '2023-07-11T00:00:00Z', aliases: ['CVE-2023-29406', 'GHSA-f8f7-69v5-w4vx'], summary: 'Host header', affected: goRange('stdlib') };
  const CVE = (score: string) => ({ id: 'CVE-2023-29406', modified: '2023-07-11T00:00:00Z', severity: [{ type: 'CVSS_V3', score }], affected: goRange('example.invalid/none') });
  const MEDIUM = 'CVSS:3.1/AV:N/AC:L/PR:N/UI:R/S:U/C:N/I:H/A:N'; // 6.5
  const CRITICAL = 'CVSS:3.1/AV:N/AC:L/PR:N/UI:N/S:U/C:H/I:H/A:H'; // 9.8
  const stdlib: InstalledPackage = { name: 'stdlib', version: '1.19.8', ecosystem: 'Go', path: '/usr/bin/skopeo' };
  const build = (...records: object[]) => {
    const db = new OsvDatabase();
    for (const r of records) db.add(r as Parameters<OsvDatabase['add']>[0]);
    return db;
  };
  const sevOf = (db: OsvDatabase) => db.findingsFor(stdlib).map((f) => [f.id, f.severity, f.cvss?.score]);

  test('alone it is unknown', () => {
    expect(sevOf(build(GO))).toEqual([['GO-2023-1878', 'unknown', undefined]]);
  });

  test('a record named by an alias gives its CVSS severity, whichever was loaded first', () => {
    expect(sevOf(build(GO, CVE(MEDIUM)))).toEqual([['GO-2023-1878', 'medium', 6.5]]);
    expect(sevOf(build(CVE(MEDIUM), GO))).toEqual([['GO-2023-1878', 'medium', 6.5]]);
  });

  test('a GHSA record gives its database label; the most severe of several wins; a record listing the advisory as its alias counts too', () => {
    const ghsa = { id: 'GHSA-f8f7-69v5-w4vx', modified: '2023-07-11T00:00:00Z', aliases: ['CVE-2023-29406'], database_specific: { severity: 'LOW' }, affected: goRange('example.invalid/x') };
    expect(sevOf(build(GO, ghsa))).toEqual([['GO-2023-1878', 'low', undefined]]);
    expect(sevOf(build(GO, ghsa, CVE(CRITICAL)))).toEqual([['GO-2023-1878', 'critical', 9.8]]);
    const naming = { id: 'TEST-1', modified: '2023-07-11T00:00:00Z', aliases: ['GO-2023-1878'], database_specific: { severity: 'HIGH' }, affected: goRange('example.invalid/z') };
    expect(sevOf(build(naming, { ...GO, aliases: [] }))).toEqual([['GO-2023-1878', 'high', undefined]]);
  });

  test('a distribution\'s priority (Ubuntu) is not borrowed, nor is an unrelated record\'s severity; an own severity is kept', () => {
    const ubuntu = { id: 'UBUNTU-CVE-2023-29406', modified: '2023-07-11T00:00:00Z', upstream: ['CVE-2023-29406'], severity: [{ type: 'Ubuntu', score: 'high' }], affected: goRange('example.invalid/y') };
    const other = { ...CVE(CRITICAL), id: 'CVE-2099-1' };
    expect(sevOf(build(GO, ubuntu, other))).toEqual([['GO-2023-1878', 'unknown', undefined]]);
    const scoredGo = { ...GO, severity: [{ type: 'CVSS_V3', score: MEDIUM }] };
    expect(sevOf(build(scoredGo, CVE(CRITICAL)))).toEqual([['GO-2023-1878', 'medium', 6.5]]);
  });
});

describe('records that name only a repository', () => {
  test('a CVE record with GIT ranges and no package loads (its severity can be borrowed), its entry dropped; a broken package is still refused', () => {
    const git = { ranges: [{ type: 'GIT', repo: 'https://go.googlesource.com/go', events: [{ introduced: '0' }, { fixed: 'abc' }] }] };
    const parsed = osvRecordSchema.safeParse({ id: 'CVE-2023-29406', modified: '2023-07-11T00:00:00Z', affected: [git, { package: { ecosystem: 'Go', name: 'stdlib' } }] });
    expect(parsed.success && parsed.data.affected).toEqual([{ package: { ecosystem: 'Go', name: 'stdlib' } }]);
    expect(osvRecordSchema.safeParse({ id: 'X', modified: 'x', affected: [{ ...git, package: { ecosystem: '', name: 'x' } }] }).success).toBe(false);
  });
});
