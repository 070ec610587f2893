/**
 * A hostile rpmdb.sqlite: `Packages` that runs the file's own SQL when read (a view, a virtual
 * table, a generated column) and blobs larger than a header or than the file itself are refused
 * before any blob is read, as an unreadable database (a coverage finding), never read. Each
 * hostile file carries a real rpm header, so that reading it anyway would show as a package.
 */
import path from 'node:path';
import initSqlJs, { type SqlJsStatic } from 'sql.js';
import { BuiltinScanner } from '../../../../src/scanners/builtin/adapter';
import { MAX_HEADER_BYTES, readRpmSqlite } from '../../../../src/scanners/builtin/analyzers/rpmdb';
import { buildImage } from '../../../harness/images';
import { rpmDatabase } from '../../../harness/rpmdb';
import { MemoryRegistry } from './memory-registry';

const OSV = path.join(__dirname, '../../../fixtures/osv/db');

const LIMITS = { maxDatabaseEntries: 1000 };

describe('rpmdb.sqlite whose Packages is not a plain table of header blobs', () => {
  let SQL: SqlJsStatic;
  let header: Uint8Array;
  let real: Buffer;
  beforeAll(async () => {
    SQL = await initSqlJs();
    real = rpmDatabase([{ name: 'a', version: '1.0', release: '1', files: { '/usr/share/a/f': 'a' } }]);
    const db = new SQL.Database(real);
    header = db.exec('SELECT blob FROM Packages')[0]!.values[0]![0] as Uint8Array;
    db.close();
  });

  /** A database made by `statements`, `?` bound to the real header. */
  function database(...statements: string[]): Buffer {
    const db = new SQL.Database();
    for (const s of statements) db.run(s, s.includes('?') ? [header] : undefined);
    const out = Buffer.from(db.export());
    db.close();
    return out;
  }

  test('the real database: its package is read', async () => {
    await expect(readRpmSqlite(real, LIMITS)).resolves.toMatchObject({ packages: [{ name: 'a', version: '1.0-1' }] });
    await expect(readRpmSqlite(real, LIMITS)).resolves.not.toHaveProperty('unreadable');
  });

  test.each([
    ['a view over a recursive CTE', ['CREATE TABLE h(blob BLOB)', 'INSERT INTO h VALUES (?)', 'CREATE VIEW Packages AS WITH RECURSIVE c(x) AS (SELECT 1 UNION ALL SELECT x + 1 FROM c WHERE x < 3) SELECT blob FROM h, c'], 'Packages is not a plain table (view)'],
    ['a view named in another case', ['CREATE TABLE h(blob BLOB)', 'INSERT INTO h VALUES (?)', 'CREATE VIEW PACKAGES AS SELECT blob FROM h'], 'Packages is not a plain table (view)'],
    ['a virtual table', ['CREATE VIRTUAL TABLE Packages USING fts4(blob)', 'INSERT INTO Packages(blob) VALUES (?)'], 'Packages is not a plain table (virtual table)'],
    ['a generated blob column', ['CREATE TABLE Packages(hnum INTEGER PRIMARY KEY, src BLOB, blob BLOB GENERATED ALWAYS AS (src) VIRTUAL)', 'INSERT INTO Packages(src) VALUES (?)'], 'Packages.blob is a generated column'],
    ['no Packages at all', ['CREATE TABLE Other(blob BLOB)', 'INSERT INTO Other VALUES (?)'], 'no Packages table'],
  ])('%s: refused unread, the reason in the coverage finding', async (_name, statements, reason) => {
    await expect(readRpmSqlite(database(...statements), LIMITS)).resolves.toEqual({ packages: [], ownedPaths: [], unreadable: reason });
  });

  test('a blob over the header cap refuses the database before any blob is read; one at the cap does not', async () => {
    const over = database('CREATE TABLE Packages(hnum INTEGER PRIMARY KEY, blob BLOB)', 'INSERT INTO Packages(blob) VALUES (?)', `INSERT INTO Packages(blob) VALUES (zeroblob(${MAX_HEADER_BYTES + 1}))`);
    await expect(readRpmSqlite(over, LIMITS)).resolves.toEqual({
      packages: [], ownedPaths: [], unreadable: `a header blob of ${MAX_HEADER_BYTES + 1} bytes, over the ${MAX_HEADER_BYTES}-byte cap`,
    });
    const at = database('CREATE TABLE Packages(hnum INTEGER PRIMARY KEY, blob BLOB)', 'INSERT INTO Packages(blob) VALUES (?)', `INSERT INTO Packages(blob) VALUES (zeroblob(${MAX_HEADER_BYTES}))`);
    await expect(readRpmSqlite(at, LIMITS)).resolves.toEqual({ packages: [expect.objectContaining({ name: 'a' })], ownedPaths: [] });
  });

  test('blobs claiming more bytes than the file holds (a forged record over a looping overflow chain) are refused, not read', async () => {
    const db = new SQL.Database();
    db.run('PRAGMA page_size = 512');
    db.run('VACUUM');
    db.run('CREATE TABLE Packages(hnum INTEGER PRIMARY KEY, blob BLOB)');
    db.run('INSERT INTO Packages(blob) VALUES (randomblob(600))');
    const file = Buffer.from(db.export());
    db.close();
    // Page 2, the table's one leaf, one cell: payload size 604 → 4160, the blob's serial type
    // 600 bytes → 4156 (same varint lengths and the same local part, 96 bytes); its one overflow
    // page (3) then names itself as the next one, and SQLite reads it over and over.
    const cell = 512 + file.readUInt16BE(512 + 8);
    file.set([0xa0, 0x40], cell);
    file.set([0xc1, 0x04], cell + 5);
    file.writeUInt32BE(3, 2 * 512);
    expect(file.length).toBe(1536);
    await expect(readRpmSqlite(file, LIMITS)).resolves.toEqual({
      packages: [], ownedPaths: [], unreadable: 'header blobs of 4156 bytes or more in a 1536-byte file',
    });
  });

  test('in an image: the scan succeeds with an unscanned-OS coverage finding that says why, not the view\'s packages', async () => {
    const view = database('CREATE TABLE h(blob BLOB)', 'INSERT INTO h VALUES (?)', 'CREATE VIEW Packages AS SELECT blob FROM h');
    const img = await buildImage({ layers: [{ files: { 'etc/os-release': 'ID=rocky\nVERSION_ID=9.3\n', 'var/lib/rpm/rpmdb.sqlite': view } }], config: { User: '1' } });
    const registry = new MemoryRegistry().addImage(img);
    const r = await new BuiltinScanner({ name: 'b', osvPath: OSV }).scan({ registry, repository: 'r', digest: img.digest, registryUrl: registry.url });
    expect(r.status).toBe('succeeded');
    expect(r.findings.map((f) => [f.kind, f.id, f.path])).toEqual([['coverage', 'PORTCULLIS-UNSCANNED-OS', '/var/lib/rpm/rpmdb.sqlite']]);
    expect(r.findings[0]!.title).toMatch(/lists no installed package \(Packages is not a plain table \(view\)\)$/);
  });
});
