/**
 * Issue 8.2: a scan is bounded in what it builds, not only in the bytes it reads. Twelve
 * 60 MiB dpkg files in a 1.8 MB layer once grew the process to 4.4 GB; each bound below fails
 * such a scan with SCAN_LIMIT_EXCEEDED, and the parsers never build an array of every line.
 */
import { readFileSync } from 'node:fs';
import path from 'node:path';
import { Readable } from 'node:stream';
import { BuiltinScanner } from '../../../../src/scanners/builtin/adapter';
import { MergedFilesystem } from '../../../../src/scanners/builtin/filesystem';
import { readLayer } from '../../../../src/scanners/builtin/layer-reader';
import { DEFAULT_LIMITS, newBudget, type ScanLimits } from '../../../../src/scanners/builtin/limits';
import { parseApkInstalled } from '../../../../src/scanners/builtin/parsers/apk';
import { MAX_FIELD_CHARS } from '../../../../src/scanners/builtin/parsers/deb822';
import { parseDpkgStatus } from '../../../../src/scanners/builtin/parsers/dpkg';
import { bdbHashValues } from '../../../../src/scanners/builtin/parsers/rpm-bdb';
import { RPM_BDB_FIXTURES } from '../../../harness/rpm-bdb';
import { rpmDatabase } from '../../../harness/rpmdb';
import { buildImage, tarOf, type FileSpec } from '../../../harness/images';
import { MemoryRegistry } from './memory-registry';

const OSV = path.join(__dirname, '../../../fixtures/osv/db');
const paragraphs = (n: number, from = 0): string =>
  Array.from({ length: n }, (_, i) => `Package: p${from + i}\nStatus: install ok installed\nVersion: 1.${i}\n`).join('\n');

async function layer(files: Record<string, FileSpec>, limits: Partial<ScanLimits>): Promise<unknown> {
  return readLayer(Readable.from([await tarOf(files)]), 'sha256:l', new MergedFilesystem(), { ...DEFAULT_LIMITS, ...limits }, newBudget());
}

describe('bounded package database parsers', () => {
  test('dpkg: more paragraphs than allowed fail before they are all built; as many as allowed pass', () => {
    expect(parseDpkgStatus(paragraphs(50), 50)).toHaveLength(50);
    expect(() => parseDpkgStatus(paragraphs(51), 50, '/var/lib/dpkg/status')).toThrow(
      expect.objectContaining({ code: 'SCAN_LIMIT_EXCEEDED', message: '/var/lib/dpkg/status: more than 50 records' }),
    );
  });

  test('dpkg: paragraphs without a package still count, so a flood of junk records is bounded too', () => {
    expect(() => parseDpkgStatus('X-Junk: 1\n\n'.repeat(11), 10)).toThrow(expect.objectContaining({ code: 'SCAN_LIMIT_EXCEEDED' }));
  });

  test('a kept field longer than the cap fails; a long field the parser does not keep is skipped', () => {
    const long = 'x'.repeat(MAX_FIELD_CHARS + 10);
    expect(() => parseDpkgStatus(`Package: ${long}\nVersion: 1\n`)).toThrow(expect.objectContaining({ code: 'SCAN_LIMIT_EXCEEDED', message: expect.stringContaining('field package') }));
    expect(parseDpkgStatus(`Package: a\nVersion: 1\nDescription: ${long}\n ${long}\n`)).toEqual([{ name: 'a', version: '1' }]);
    expect(() => parseApkInstalled(`P:${long}\nV:1\n`)).toThrow(expect.objectContaining({ code: 'SCAN_LIMIT_EXCEEDED' }));
  });

  test('apk: records are counted', () => {
    const db = Array.from({ length: 5 }, (_, i) => `P:p${i}\nV:1.0-r${i}\n`).join('\n');
    expect(parseApkInstalled(db, 5)).toHaveLength(5);
    expect(() => parseApkInstalled(db, 4)).toThrow(expect.objectContaining({ code: 'SCAN_LIMIT_EXCEEDED', message: 'apk installed: more than 4 records' }));
  });
});

describe('bounded layer reading', () => {
  test('package records of the whole image: several status.d files together exceed maxPackages', async () => {
    const files = Object.fromEntries(Array.from({ length: 4 }, (_, i) => [`var/lib/dpkg/status.d/f${i}`, paragraphs(30, i * 30)]));
    await expect(layer(files, { maxPackages: 120 })).resolves.toBeDefined();
    await expect(layer(files, { maxPackages: 100 })).rejects.toMatchObject({ code: 'SCAN_LIMIT_EXCEEDED', message: expect.stringContaining('more than 100 package records') });
  });

  test('metadata bytes: database files read into memory count toward maxMetadataBytes, before they are read', async () => {
    const one = paragraphs(200); // ~8 KB
    const files = Object.fromEntries(Array.from({ length: 12 }, (_, i) => [`var/lib/dpkg/status.d/f${i}`, one]));
    await expect(layer(files, { maxMetadataBytes: 13 * one.length })).resolves.toBeDefined();
    await expect(layer(files, { maxMetadataBytes: 5 * one.length })).rejects.toMatchObject({
      code: 'SCAN_LIMIT_EXCEEDED', message: expect.stringContaining('metadata read and kept exceeds'),
    });
  });

  test('paths kept for whiteouts count toward maxMetadataBytes', async () => {
    const files = Object.fromEntries(Array.from({ length: 200 }, (_, i) => [`d/${'n'.repeat(100)}/.wh.f${i}`, '']));
    await expect(layer(files, { maxMetadataBytes: 10_000 })).rejects.toMatchObject({ code: 'SCAN_LIMIT_EXCEEDED' });
    await expect(layer(files, { maxMetadataBytes: 100_000 })).resolves.toBeDefined();
  });

  test('the scanner reports the dpkg status.d bomb (many large files of tiny records) as SCAN_LIMIT_EXCEEDED', async () => {
    // Twelve files of ~2.4 MB each: 100,000+ records per file, far below the per-file read cap.
    const bomb = paragraphs(60_000);
    const img = await buildImage({ layers: [{ files: Object.fromEntries(Array.from({ length: 12 }, (_, i) => [`var/lib/dpkg/status.d/p${i}`, bomb])) }] });
    const registry = new MemoryRegistry().addImage(img);
    const scanner = new BuiltinScanner({ name: 'b', osvPath: OSV, limits: { maxDatabaseEntries: 50_000 } });
    const r = await scanner.scan({ registry, repository: 'r', digest: img.digest, registryUrl: registry.url });
    expect(r).toMatchObject({ status: 'failed', findings: [], error: { code: 'SCAN_LIMIT_EXCEEDED', message: expect.stringContaining('more than 50000 records') } });
  });
});

describe('one bound, one answer, for every package database (maxDatabaseEntries)', () => {
  const BDB = readFileSync(path.join(RPM_BDB_FIXTURES, 'Packages'));
  // Its records: every header (gpg-pubkey ones too), not rpm's instance counter under key 0.
  const bdbRecords = [...bdbHashValues(BDB, 1e6, (k) => k.length === 4 && k.readUInt32LE(0) === 0)].length;
  let sqlite: Buffer;
  beforeAll(() => {
    sqlite = rpmDatabase(['a', 'b', 'c', 'd'].map((name) => ({ name, version: '1.0', release: '1', files: { [`/usr/share/${name}/f`]: name } })));
  });

  const databases = (): Array<[string, string, Buffer | string, number]> => [
    ['dpkg', 'var/lib/dpkg/status', paragraphs(4), 4],
    ['apk', 'lib/apk/db/installed', Array.from({ length: 4 }, (_, i) => `P:p${i}\nV:1.0-r${i}\n`).join('\n'), 4],
    ['rpm, Berkeley DB', 'var/lib/rpm/Packages', BDB, bdbRecords],
    ['rpm, SQLite', 'usr/lib/sysimage/rpm/rpmdb.sqlite', sqlite, 4],
  ];

  test.each(['dpkg', 'apk', 'rpm, Berkeley DB', 'rpm, SQLite'])('%s: as many records as allowed pass; one more fails the layer with SCAN_LIMIT_EXCEEDED naming the file', async (name) => {
    const [, file, content, records] = databases().find(([n]) => n === name)!;
    expect(records).toBeGreaterThan(3);
    await expect(layer({ [file]: content }, { maxDatabaseEntries: records })).resolves.toBeDefined();
    await expect(layer({ [file]: content }, { maxDatabaseEntries: records - 1 })).rejects.toMatchObject({
      code: 'SCAN_LIMIT_EXCEEDED', message: `/${file}: more than ${records - 1} records`,
    });
  });

  test('the scanner reports an rpm Berkeley DB over the bound as a failed scan (SCAN_LIMIT_EXCEEDED), as it does dpkg\'s, not as a coverage finding', async () => {
    const img = await buildImage({ layers: [{ files: { 'etc/os-release': 'ID=rhel\nVERSION_ID="8.9"\n', 'var/lib/rpm/Packages': BDB } }] });
    const registry = new MemoryRegistry().addImage(img);
    const scanner = new BuiltinScanner({ name: 'b', osvPath: OSV, limits: { maxDatabaseEntries: 3 } });
    const r = await scanner.scan({ registry, repository: 'r', digest: img.digest, registryUrl: registry.url });
    expect(r).toMatchObject({ status: 'failed', findings: [], error: { code: 'SCAN_LIMIT_EXCEEDED', message: expect.stringContaining('/var/lib/rpm/Packages: more than 3 records') } });
  });
});
