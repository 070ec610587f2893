/**
 * The rpm database, one header blob per installed package, in either of its two formats:
 * - SQLite (`rpmdb.sqlite`: RHEL/UBI 9, Fedora, Amazon Linux 2023, Rocky and Alma 9), blobs in
 *   `Packages(hnum, blob)`. Read with sql.js (SQLite compiled to WebAssembly: Node 20 has no
 *   SQLite, and a native binding would need a build or a prebuilt download).
 * - Berkeley DB hash (`Packages`: RHEL/UBI 8, CentOS 7 and 8, Rocky/Alma 8, Amazon Linux 2),
 *   read by our own reader (../parsers/rpm-bdb.ts). A file it cannot read carries the reason
 *   (`unreadable`), and the image gets a coverage finding that says it, never a silent pass.
 * Both are read from the file's bytes in memory, under the kind's read cap, and hold at most
 * `maxDatabaseEntries` records (more: SCAN_LIMIT_EXCEEDED, as dpkg's status and apk's installed
 * database, not a coverage finding: the file was readable, the scan's bound refused it). SUSE's `ndb`
 * (`Packages.db`) is not read: SUSE is not a supported distribution, a coverage finding.
 *
 * A SQLite file is a program as much as data: a view, a virtual table or a generated column
 * named `Packages` runs the file's own SQL when read (an endless recursive CTE, zeroblob rows
 * of hundreds of MB), and a wasm SQLite call cannot be interrupted nor is its memory under the
 * scan thread's heap cap. So `Packages` must be a plain table whose `blob` is a stored column,
 * and the blobs' sizes (read from the records' headers, without their content) are checked
 * before any blob is read: each under {@link MAX_HEADER_BYTES}, all together under the file's
 * own size (a table cannot hold more than its file; more means a forged record or a looping
 * overflow chain). Any of these refused is an unreadable database, a coverage finding.
 */
import initSqlJs, { type SqlJsStatic } from 'sql.js';
import { AppError } from '../../../lib/errors';
import type { ScanLimits } from '../limits';
import type { ParsedPackage } from '../parsers/types';
import { parseRpmHeader } from '../parsers/rpm-header';
import { BdbUnreadable, bdbHashValues } from '../parsers/rpm-bdb';
import { tooManyRecords } from '../parsers/deb822';
import { NPM_MANIFEST } from '../parsers/npm';
import { PYTHON_METADATA } from '../parsers/python';

let sql: Promise<SqlJsStatic> | null = null;

/** One rpm header blob: rpm's own limit for a header is 256 MiB, real ones are tens of KB (a kernel's file list: ~1 MB). */
export const MAX_HEADER_BYTES = 16 * 1024 * 1024;

/** Why a SQLite file is not read as an rpm database; its message is shown in the coverage finding. */
class SqliteUnreadable extends Error {}

export interface RpmDatabase {
  packages: ParsedPackage[];
  /** Language-package metadata files the rpm packages own (normalized, no leading `/`). */
  ownedPaths: string[];
  /** Set when the file is there but could not be read: why. */
  unreadable?: string;
}

/**
 * Adds one header blob's package to `db`; false when the blob is no rpm header. gpg-pubkey
 * entries are imported signing keys, not software, and are left out.
 */
function addHeader(db: RpmDatabase, blob: Buffer): boolean {
  const h = parseRpmHeader(blob);
  if (!h) return false;
  if (h.name === 'gpg-pubkey') return true;
  db.packages.push({ name: h.name, version: h.evr, ...(h.sourceName ? { sourceName: h.sourceName } : {}) });
  for (const f of h.files) {
    const p = f.replace(/^\/+/, '');
    if (PYTHON_METADATA.test(p) || NPM_MANIFEST.test(p)) db.ownedPaths.push(p);
  }
  return true;
}

type Sqlite = InstanceType<SqlJsStatic['Database']>;

/**
 * Refuses a `Packages` that is anything but a plain table with a stored `blob` column. The
 * schema SQLite parsed is asked (`table_list`, `table_xinfo`), not only `sqlite_master`'s type
 * column: SQLite builds the object from the row's SQL text, which a forged file can make a view.
 */
function checkPackagesTable(sqlite: Sqlite): void {
  const master = sqlite.exec("SELECT type, rootpage, sql FROM main.sqlite_master WHERE name = 'Packages' COLLATE NOCASE")[0]?.values ?? [];
  if (master.length === 0) throw new SqliteUnreadable('no Packages table');
  const kinds = master.map(([type, , text]) => (/^\s*CREATE\s+VIRTUAL\b/i.test(String(text)) ? 'virtual table' : String(type)));
  const rootpage = master[0]![1];
  if (kinds.length > 1 || kinds[0] !== 'table' || typeof rootpage !== 'number' || rootpage < 1) {
    throw new SqliteUnreadable(`Packages is not a plain table (${kinds.join(', ')})`);
  }
  const listed = sqlite.exec("PRAGMA main.table_list('Packages')")[0];
  const kind = listed?.values[0]?.[listed.columns.indexOf('type')];
  if (listed?.values.length !== 1 || kind !== 'table') throw new SqliteUnreadable(`Packages is not a plain table (${String(kind ?? 'none')})`);
  const columns = sqlite.exec("PRAGMA main.table_xinfo('Packages')")[0];
  const blob = columns?.values.find((c) => String(c[columns.columns.indexOf('name')]).toLowerCase() === 'blob');
  if (!columns || !blob) throw new SqliteUnreadable('Packages has no blob column');
  // hidden: 0 a stored column; 1 a virtual table's hidden column; 2 and 3 generated (computed from the file's SQL).
  if (blob[columns.columns.indexOf('hidden')] !== 0) throw new SqliteUnreadable('Packages.blob is a generated column');
}

/**
 * The sizes of the first `rows` blobs, checked before any is read: `length()` of a blob is
 * taken from its record's header, its content (overflow pages) is not loaded.
 */
function checkBlobSizes(sqlite: Sqlite, rows: number, fileBytes: number): number {
  const lengths = sqlite.exec(`SELECT length(blob) FROM main.Packages LIMIT ${rows}`)[0]?.values ?? [];
  let total = 0;
  for (const [n] of lengths) {
    const size = typeof n === 'number' ? n : 0;
    if (size > MAX_HEADER_BYTES) throw new SqliteUnreadable(`a header blob of ${size} bytes, over the ${MAX_HEADER_BYTES}-byte cap`);
    total += size;
    if (total > fileBytes) throw new SqliteUnreadable(`header blobs of ${total} bytes or more in a ${fileBytes}-byte file`);
  }
  return lengths.length;
}

/** @param path the file's path in the image (normalized, no leading `/`), named in a limit's error */
export async function readRpmSqlite(bytes: Buffer, limits: Pick<ScanLimits, 'maxDatabaseEntries'>, path = 'var/lib/rpm/rpmdb.sqlite'): Promise<RpmDatabase> {
  sql ??= initSqlJs();
  const SQL = await sql;
  const max = limits.maxDatabaseEntries;
  let sqlite;
  try {
    sqlite = new SQL.Database(bytes);
    checkPackagesTable(sqlite);
    // One row past the limit tells it was exceeded, without building every row.
    if (checkBlobSizes(sqlite, max + 1, bytes.length) > max) throw tooManyRecords(`/${path}`, max);
    const rows = sqlite.exec(`SELECT blob FROM main.Packages LIMIT ${max + 1}`)[0]?.values ?? [];
    const db: RpmDatabase = { packages: [], ownedPaths: [] };
    for (const [blob] of rows) {
      if (blob instanceof Uint8Array) addHeader(db, Buffer.from(blob.buffer, blob.byteOffset, blob.byteLength));
    }
    return db;
  } catch (err) {
    if (err instanceof AppError) throw err;
    return { packages: [], ownedPaths: [], unreadable: err instanceof SqliteUnreadable ? err.message : 'not a readable SQLite rpm database' };
  } finally {
    sqlite?.close();
  }
}

/** rpm ≤ 4.15 keeps its last header instance number under key 0: a counter, not a package. */
const isInstanceCounter = (key: Buffer): boolean => key.length === 4 && key.readUInt32LE(0) === 0;

/**
 * A Berkeley DB `Packages` file. Stricter than the SQLite path: a record that is not an rpm
 * header makes the whole database unreadable (a package the scanner cannot see is a gap, and
 * rpm itself writes nothing else there).
 * @param path the file's path in the image (normalized, no leading `/`), named in a limit's error
 * @throws AppError SCAN_LIMIT_EXCEEDED past `maxDatabaseEntries` records
 */
export async function readRpmBdb(bytes: Buffer, limits: Pick<ScanLimits, 'maxDatabaseEntries'>, path = 'var/lib/rpm/Packages'): Promise<RpmDatabase> {
  const db: RpmDatabase = { packages: [], ownedPaths: [] };
  let record = 0;
  try {
    for (const blob of bdbHashValues(bytes, limits.maxDatabaseEntries, isInstanceCounter, `/${path}`)) {
      record += 1;
      if (!addHeader(db, blob)) throw new BdbUnreadable(`record ${record} is not an rpm header`);
    }
    return db;
  } catch (err) {
    if (!(err instanceof BdbUnreadable)) throw err;
    return { packages: [], ownedPaths: [], unreadable: err.message };
  }
}
