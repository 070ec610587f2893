/**
 * The rpm database of RHEL/UBI 9, Fedora, Amazon Linux 2023, Rocky and Alma 9: SQLite
 * (`/var/lib/rpm/rpmdb.sqlite`, or `/usr/lib/sysimage/rpm/rpmdb.sqlite`), one header blob per
 * package in `Packages(hnum, blob)`. Read with sql.js (SQLite compiled to WebAssembly: Node 20
 * has no SQLite, and a native binding would need a build or a prebuilt download) from the file's
 * bytes in memory, under the kind's read cap.
 *
 * The Berkeley DB format (`/var/lib/rpm/Packages`: RHEL/CentOS ≤ 8, Amazon Linux 2) is not
 * read: the file is only noticed, and the image gets a coverage finding, never a silent pass.
 */
import initSqlJs, { type SqlJsStatic } from 'sql.js';
import type { ParsedPackage } from '../parsers/types';
import { parseRpmHeader } from '../parsers/rpm-header';
import { NPM_MANIFEST } from '../parsers/npm';
import { PYTHON_METADATA } from '../parsers/python';

let sql: Promise<SqlJsStatic> | null = null;

export interface RpmDatabase {
  packages: ParsedPackage[];
  /** Language-package metadata files the rpm packages own (normalized, no leading `/`). */
  ownedPaths: string[];
}

export async function readRpmSqlite(bytes: Buffer): Promise<RpmDatabase> {
  sql ??= initSqlJs();
  const SQL = await sql;
  let db;
  try {
    db = new SQL.Database(bytes);
    const rows = db.exec('SELECT blob FROM Packages');
    const packages: ParsedPackage[] = [];
    const ownedPaths: string[] = [];
    for (const [blob] of rows[0]?.values ?? []) {
      if (!(blob instanceof Uint8Array)) continue;
      const h = parseRpmHeader(Buffer.from(blob.buffer, blob.byteOffset, blob.byteLength));
      // gpg-pubkey entries are imported keys, not software.
      if (!h || h.name === 'gpg-pubkey') continue;
      packages.push({ name: h.name, version: h.evr, ...(h.sourceName ? { sourceName: h.sourceName } : {}) });
      for (const f of h.files) {
        const p = f.replace(/^\/+/, '');
        if (PYTHON_METADATA.test(p) || NPM_MANIFEST.test(p)) ownedPaths.push(p);
      }
    }
    return { packages, ownedPaths };
  } catch {
    // Unreadable: no package is listed, and the OS coverage check says so (fail closed).
    return { packages: [], ownedPaths: [] };
  } finally {
    db?.close();
  }
}
