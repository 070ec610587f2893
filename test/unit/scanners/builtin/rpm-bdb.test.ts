/**
 * The Berkeley DB rpm database reader against real databases (written by Berkeley DB 5.3
 * itself, see test/fixtures/rpm-bdb/README.md) checked against what the real rpm prints for
 * the same file through its `bdb_ro` backend, then against hostile copies of them: every lie
 * a file can tell ends as `unreadable` with the reason, never as a throw or a hang.
 */
import { readFileSync } from 'node:fs';
import path from 'node:path';
import { Readable } from 'node:stream';
import { pack } from 'tar-stream';
import { MergedFilesystem } from '../../../../src/scanners/builtin/filesystem';
import { readLayer } from '../../../../src/scanners/builtin/layer-reader';
import { DEFAULT_LIMITS, newBudget } from '../../../../src/scanners/builtin/limits';
import { READ_CAP } from '../../../../src/scanners/builtin/paths';
import { readRpmBdb, type RpmDatabase } from '../../../../src/scanners/builtin/analyzers/rpmdb';
import { NPM_MANIFEST } from '../../../../src/scanners/builtin/parsers/npm';
import { PYTHON_METADATA } from '../../../../src/scanners/builtin/parsers/python';
import { rng } from '../../../harness/seeded';
import { handBuiltDb, RPM_BDB_FIXTURES as FIXTURES, ourRows, overflowChains, pagesOf, rpmQuery, ROWS_QF } from '../../../harness/rpm-bdb';
import { bdbHashValues } from '../../../../src/scanners/builtin/parsers/rpm-bdb';

const LE = readFileSync(path.join(FIXTURES, 'Packages'));
const BE = readFileSync(path.join(FIXTURES, 'Packages.be-512'));
const LIMITS = { maxDatabaseEntries: 100_000 };
const read = (file: Buffer): Promise<RpmDatabase> => readRpmBdb(file, LIMITS);

describe('the Berkeley DB rpm database, real files', () => {
  test('little-endian, 4 KiB pages: the same packages (name, epoch, version, release, source rpm) rpm reads', async () => {
    const db = await read(LE);
    expect(db.unreadable).toBeUndefined();
    const expected = rpmQuery(LE, ROWS_QF);
    expect(expected.length).toBeGreaterThan(15);
    expect(ourRows(db)).toEqual(expected);
    // The fixture really has multi-page headers (python3-libs' files), an epoch, an updated
    // package, and pages an update freed (type 0, on the free list) that the walk must skip.
    expect(Math.max(...overflowChains(LE).map((c) => c.length))).toBeGreaterThan(5);
    expect(expected).toContain('openssl-libs 1:1.1.1k-12.el8_9 openssl-1.1.1k-12.el8_9.src.rpm');
    expect(pagesOf(LE).filter((p) => p.n > 0 && p.type === 0).length).toBeGreaterThan(5);
  });

  test('the files the packages own: language-package metadata among them is what rpm lists', async () => {
    const db = await read(LE);
    const files = rpmQuery(LE, '[%{FILENAMES}\\n]').map((f) => f.replace(/^\/+/, '')).filter((f) => PYTHON_METADATA.test(f) || NPM_MANIFEST.test(f));
    expect(files).toContain('usr/lib/python3.6/site-packages/six-1.11.0-py3.6.egg-info');
    expect([...db.ownedPaths].sort()).toEqual(files);
  });

  test('big-endian (as s390x or ppc64 hosts write it), 512-byte pages: the same packages, as rpm reads them', async () => {
    const db = await read(BE);
    expect(db.unreadable).toBeUndefined();
    expect(ourRows(db)).toEqual(rpmQuery(BE, ROWS_QF));
    expect(ourRows(db)).toEqual(ourRows(await read(LE)));
  });
});

describe('the Berkeley DB rpm database, hand-built files', () => {
  // The smallest real header of the fixture (glibc-minimal-langpack: no files).
  const blob = [...bdbHashValues(LE, 100, (k) => k.readUInt32LE(0) === 0)].sort((a, b) => a.length - b.length)[0]!;

  test.each([['little-endian', true, 4096], ['big-endian', false, 16384]] as const)('a header stored inline on its hash page (%s, pages of %i): read as rpm reads it', async (_order, le, pageSize) => {
    const file = handBuiltDb(blob, { le, pageSize });
    const expected = rpmQuery(file, ROWS_QF);
    expect(expected).toEqual(['glibc-minimal-langpack 2.28-225.el8 glibc-2.28-225.el8.src.rpm']);
    expect(ourRows(await read(file))).toEqual(expected);
  });

  test('a hash page past the last page the metadata names is read all the same: a short page count hides nothing', async () => {
    const file = handBuiltDb(blob, { le: true, pageSize: 4096, beyondLastPage: true });
    expect(file.readUInt32LE(32)).toBe(1);
    expect(ourRows(await read(file))).toEqual(['glibc-minimal-langpack 2.28-225.el8 glibc-2.28-225.el8.src.rpm']);
  });
});

/** A copy of `file` with `edit` applied. */
function mutated(file: Buffer, edit: (b: Buffer) => void): Buffer {
  const b = Buffer.from(file);
  edit(b);
  return b;
}

describe('the Berkeley DB rpm database, hostile files', () => {
  const PAGE = 4096;
  const pages = pagesOf(LE);
  const hash = pages.find((p) => p.type === 13)!;
  const chain = overflowChains(LE).find((c) => c.length >= 3)!;
  const at = (n: number, off: number): number => n * PAGE + off;

  test.each<[string, Buffer, RegExp]>([
    ['a file shorter than a page', LE.subarray(0, 100), /truncated: 100 bytes/],
    ['wrong magic', mutated(LE, (b) => b.writeUInt32LE(0x12345678, 12)), /not a Berkeley DB hash database \(magic 0x12345678\)/],
    ['a btree database', mutated(LE, (b) => b.writeUInt32LE(0x053162, 12)), /btree database/],
    ['a page size that is not a power of two', mutated(LE, (b) => b.writeUInt32LE(5000, 20)), /page size 5000/],
    ['a hash version from another layout', mutated(LE, (b) => b.writeUInt32LE(3, 16)), /hash version 3/],
    ['encrypted', mutated(LE, (b) => (b[24] = 1)), /encrypted/],
    ['checksummed pages', mutated(LE, (b) => (b[26] = 1)), /checksums/],
    ['a page count that lies (4 billion pages)', mutated(LE, (b) => b.writeUInt32LE(0xfffffffe, 32)), /truncated: the metadata says 4294967295 pages/],
    ['truncated by one byte', LE.subarray(0, LE.length - 1), /truncated: the metadata says \d+ pages of 4096 bytes, the file holds \d+/],
    ['an item count that lies', mutated(LE, (b) => b.writeUInt16LE(0xfffe, at(hash.n, 20))), /items do not make key\/data pairs/],
    ['an odd item count', mutated(LE, (b) => b.writeUInt16LE(b.readUInt16LE(at(hash.n, 20)) - 1, at(hash.n, 20))), /items do not make key\/data pairs/],
    ['an item offset inside the page index', mutated(LE, (b) => b.writeUInt16LE(10, at(hash.n, 26))), /item 0 at 10\.\.4096 lies outside/],
    ['a hash page that names another page', mutated(LE, (b) => b.writeUInt32LE(hash.n + 1, at(hash.n, 8))), /calls itself page/],
    ['an overflow chain that loops back to its start', mutated(LE, (b) => b.writeUInt32LE(chain[0]!, at(chain.at(-1)!, 16))), /overflow page \d+ is used twice/],
    ['an overflow page that points at itself', mutated(LE, (b) => b.writeUInt32LE(chain[1]!, at(chain[1]!, 16))), /overflow page \d+ is used twice/],
    ['an overflow link past the end of the file', mutated(LE, (b) => b.writeUInt32LE(0x7fffffff, at(chain[0]!, 16))), /overflow page 2147483647 is past the end of the file \(81 pages\)/],
    ['an overflow link to a hash page', mutated(LE, (b) => b.writeUInt32LE(hash.n, at(chain[0]!, 16))), /should be an overflow page, is of type 13/],
    ['an overflow page length past the page', mutated(LE, (b) => b.writeUInt16LE(PAGE, at(chain[1]!, 22))), /overrun the page/],
    ['an overflow chain shorter than its item', mutated(LE, (b) => b.writeUInt32LE(0, at(chain.at(-2)!, 16))), /whose overflow chain holds/],
    ['an overflow page whose back link lies', mutated(LE, (b) => b.writeUInt32LE(chain[0]! + 1000, at(chain[1]!, 12))), /page links do not match/],
  ])('%s', async (_what, file, reason) => {
    const db = await read(file);
    expect(db.unreadable).toMatch(reason);
    expect(db.packages).toEqual([]);
  });

  test('a data item of a type rpm never writes (duplicates), and a record that is not an rpm header', async () => {
    // The pairs' data items: every odd index of the hash page's item index.
    const dataItem = (b: Buffer): number => at(hash.n, b.readUInt16LE(at(hash.n, 26 + 2 * 3)));
    expect((await read(mutated(LE, (b) => (b[dataItem(b)] = 2)))).unreadable).toMatch(/a duplicate set \(H_DUPLICATE\), which rpm never writes/);
    expect((await read(mutated(LE, (b) => (b[dataItem(b)] = 9)))).unreadable).toMatch(/unknown type 9/);
    // The first overflow page of a chain holds the blob's start: a header index count of 2^31.
    expect((await read(mutated(LE, (b) => b.writeUInt32BE(0x80000000, at(chain[0]!, 26))))).unreadable).toMatch(/record \d+ is not an rpm header/);
  });

  test('an item claiming more bytes than the file has; more records than the limit is the scan\'s bound (as dpkg\'s and apk\'s), not an unreadable file', async () => {
    const offpage = (b: Buffer): number => at(hash.n, b.readUInt16LE(at(hash.n, 26 + 2 * 3)));
    const huge = mutated(LE, (b) => b.writeUInt32LE(0xffffffff, offpage(b) + 8));
    expect((await read(huge)).unreadable).toMatch(/an item of 4294967295 bytes in a file of/);
    await expect(readRpmBdb(LE, { maxDatabaseEntries: 3 }, 'usr/lib/sysimage/rpm/Packages')).rejects.toMatchObject({ code: 'SCAN_LIMIT_EXCEEDED', message: '/usr/lib/sysimage/rpm/Packages: more than 3 records' });
  });

  test('random damage (seeded): always an answer, never a throw', async () => {
    const next = rng(12);
    const total = pages.length;
    let unreadable = 0;
    for (let i = 0; i < 200; i += 1) {
      const file = Buffer.from(LE);
      // Page headers and item indexes are where lies hurt: aim there most of the time.
      for (let k = 1 + Math.floor(next() * 6); k > 0; k -= 1) {
        const n = Math.floor(next() * total);
        const off = next() < 0.8 ? Math.floor(next() * 64) : Math.floor(next() * PAGE);
        file[n * PAGE + off] = Math.floor(next() * 256);
      }
      const db = await read(file);
      if (db.unreadable) unreadable += 1;
      else expect(db.packages.length).toBeLessThanOrEqual(pages.length);
    }
    expect(unreadable).toBeGreaterThan(25);
  });

  test('every truncation is refused as truncated', async () => {
    const next = rng(7);
    for (let i = 0; i < 50; i += 1) {
      const cut = 512 + Math.floor(next() * (LE.length - 512));
      expect((await read(LE.subarray(0, cut))).unreadable).toMatch(/truncated/);
    }
  });
});


describe('the Berkeley DB rpm database in a layer', () => {
  /** A plain tar layer holding `var/lib/rpm/Packages` of `size` bytes, written as it streams. */
  function layerWith(size: number, bytes?: Buffer): Readable {
    const tar = pack();
    const entry = tar.entry({ name: 'var/lib/rpm/Packages', size, mode: 0o644 }, () => tar.finalize());
    void (async () => {
      if (bytes) return entry.end(bytes);
      const zeros = Buffer.alloc(1024 * 1024);
      for (let left = size; left > 0; left -= zeros.length) {
        if (!entry.write(left >= zeros.length ? zeros : zeros.subarray(0, left))) await new Promise<void>((r) => entry.once('drain', () => r()));
      }
      entry.end(Buffer.alloc(0));
    })();
    return Readable.from(tar);
  }

  test('read into the path\'s facts: kind, packages, no reason', async () => {
    const layer = await readLayer(layerWith(LE.length, LE), 'sha256:l', new MergedFilesystem(), DEFAULT_LIMITS, newBudget());
    const facts = layer.facts.get('var/lib/rpm/Packages');
    expect(facts?.kind).toBe('rpmdb-bdb');
    expect(facts?.unreadable).toBeUndefined();
    expect(ourRows({ packages: facts?.packages ?? [] })).toEqual(ourRows(await read(LE)));
  });

  test('a file over the read cap is drained unread and carries the reason (a coverage finding), not a failed scan', async () => {
    const size = READ_CAP['rpmdb-bdb'] + 1;
    const budget = newBudget();
    const layer = await readLayer(layerWith(size), 'sha256:l', new MergedFilesystem(), DEFAULT_LIMITS, budget);
    expect(layer.facts.get('var/lib/rpm/Packages')).toMatchObject({ kind: 'rpmdb-bdb', unreadable: `${size} bytes, over the ${READ_CAP['rpmdb-bdb']}-byte cap` });
    expect(layer.facts.get('var/lib/rpm/Packages')?.packages).toBeUndefined();
    expect(budget.bytes).toBeGreaterThan(size);
  });
});
