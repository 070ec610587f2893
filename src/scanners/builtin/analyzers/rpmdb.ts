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

/** @param path the file's path in the image (normalized, no leading `/`), named in a limit's error */
export async function readRpmSqlite(bytes: Buffer, limits: Pick<ScanLimits, 'maxDatabaseEntries'>, path = 'var/lib/rpm/rpmdb.sqlite'): Promise<RpmDatabase> {
  sql ??= initSqlJs();
  const SQL = await sql;
  const max = limits.maxDatabaseEntries;
  let sqlite;
  try {
    sqlite = new SQL.Database(bytes);
    // One row past the limit tells it was exceeded, without building every row.
    const rows = sqlite.exec(`SELECT blob FROM Packages LIMIT ${max + 1}`)[0]?.values ?? [];
    if (rows.length > max) throw tooManyRecords(`/${path}`, max);
    const db: RpmDatabase = { packages: [], ownedPaths: [] };
    for (const [blob] of rows) {
      if (blob instanceof Uint8Array) addHeader(db, Buffer.from(blob.buffer, blob.byteOffset, blob.byteLength));
    }
    return db;
  } catch (err) {
    if (err instanceof AppError) throw err;
    return { packages: [], ownedPaths: [], unreadable: 'not a readable SQLite rpm database' };
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
