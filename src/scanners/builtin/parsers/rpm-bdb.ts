/**
 * A read-only reader for the Berkeley DB hash database that rpm ≤ 4.15 keeps its installed
 * headers in (`/var/lib/rpm/Packages`: RHEL/CentOS 7 and 8, Rocky/Alma 8, Amazon Linux 2),
 * written from Berkeley DB's page formats (`dbinc/db_page.h`, `dbinc/hash.h`); no libdb. Our
 * own rather than npm's `@snyk/rpm-parser`: that one parses the headers itself into name,
 * version, release, epoch and arch only (no source rpm, no file list, which the matching and
 * the OS-owned-file check need), where ours hands the blobs to the one header parser the
 * SQLite path uses.
 *
 * The file is a metadata page (page 0) then fixed-size pages. Each key/data pair lives on a
 * hash page (`P_HASH`, or `P_HASH_UNSORTED` before hash version 9) as two items the page's
 * index points at; a data item is either inline (`H_KEYDATA`) or, as Berkeley DB stores any
 * item over about a quarter page and so nearly every rpm header, `H_OFFPAGE`: a chain of
 * overflow pages. Every whole page of the file is visited in file order rather than bucket by
 * bucket: pages Berkeley DB frees are marked `P_INVALID`, so the walk sees exactly the live
 * pairs, and it needs no trust in the bucket table or the page count. The input is hostile: every offset, count and page number is checked against the
 * file, an overflow page may be used once only (a cycle or two chains sharing pages is a
 * lie), and output never exceeds the file's own size. Anything unexpected throws
 * {@link BdbUnreadable} with the reason, never a guess. More records than the scan allows is
 * not the file's fault but the scan's bound: SCAN_LIMIT_EXCEEDED, as dpkg's and apk's readers.
 */
import { tooManyRecords } from './deb822';

/** Why a Berkeley DB file could not be read; its message is shown in the coverage finding. */
export class BdbUnreadable extends Error {}

const HASH_MAGIC = 0x061561;
const BTREE_MAGIC = 0x053162;
/** Every page starts with this header (LSN, pgno, prev, next, entries, hf_offset, level, type). */
const PAGE_HEADER = 26;
const P_HASH_UNSORTED = 2;
const P_OVERFLOW = 7;
const P_HASHMETA = 8;
const P_HASH = 13;
const H_KEYDATA = 1;
const H_OFFPAGE = 3;
/** `HOFFPAGE`: type, 3 pad bytes, first overflow page, total length. */
const H_OFFPAGE_SIZE = 12;
const ITEM_NAMES: Record<number, string> = { 2: 'a duplicate set (H_DUPLICATE)', 4: 'an off-page duplicate tree (H_OFFDUP)', 5: 'an external blob (H_BLOB)' };
/** Hash versions with the page layout read here: 8 (DB 4.3–4.5), 9 (4.6–5.x), 10 (6.x). */
const VERSIONS = new Set([8, 9, 10]);
const DBMETA_CHKSUM = 0x01;
const DB_HASH_SUBDB = 0x02;

interface Meta {
  le: boolean;
  pageSize: number;
  /** Whole pages in the file: at least the metadata's page count, maybe more (see {@link bdbHashValues}). */
  pages: number;
}

const u16 = (b: Buffer, at: number, le: boolean): number => (le ? b.readUInt16LE(at) : b.readUInt16BE(at));
const u32 = (b: Buffer, at: number, le: boolean): number => (le ? b.readUInt32LE(at) : b.readUInt32BE(at));

function readMeta(file: Buffer): Meta {
  if (file.length < 512) throw new BdbUnreadable(`truncated: ${file.length} bytes, less than one Berkeley DB page`);
  // The magic tells the byte order the database was written in (hosts write their own).
  const le = file.readUInt32LE(12) === HASH_MAGIC;
  if (!le && file.readUInt32BE(12) !== HASH_MAGIC) {
    const btree = file.readUInt32LE(12) === BTREE_MAGIC || file.readUInt32BE(12) === BTREE_MAGIC;
    throw new BdbUnreadable(btree ? 'a Berkeley DB btree database, not the hash database rpm writes' : `not a Berkeley DB hash database (magic 0x${file.readUInt32LE(12).toString(16)})`);
  }
  const version = u32(file, 16, le);
  const pageSize = u32(file, 20, le);
  if (!VERSIONS.has(version)) throw new BdbUnreadable(`Berkeley DB hash version ${version} is not read (8 to 10 are)`);
  if (pageSize < 512 || pageSize > 65536 || (pageSize & (pageSize - 1)) !== 0) throw new BdbUnreadable(`page size ${pageSize} is not a power of two from 512 to 65536`);
  if (file[24] !== 0) throw new BdbUnreadable('the database is encrypted');
  if (file[25] !== P_HASHMETA) throw new BdbUnreadable(`page 0 is of type ${file[25]}, not a hash metadata page`);
  if ((file[26]! & DBMETA_CHKSUM) !== 0) throw new BdbUnreadable('pages carry checksums, which rpm never writes');
  if (u32(file, 36, le) > 1) throw new BdbUnreadable('the database is partitioned');
  if ((u32(file, 48, le) & DB_HASH_SUBDB) !== 0) throw new BdbUnreadable('the file holds several sub-databases');
  const lastPage = u32(file, 32, le);
  const inFile = Math.floor(file.length / pageSize);
  if (lastPage + 1 > inFile) throw new BdbUnreadable(`truncated: the metadata says ${lastPage + 1} pages of ${pageSize} bytes, the file holds ${inFile}`);
  return { le, pageSize, pages: inFile };
}

class Reader {
  /** Overflow pages already read: each belongs to one item only. */
  private readonly used: Uint8Array;
  constructor(private readonly file: Buffer, private readonly meta: Meta) {
    this.used = new Uint8Array(meta.pages);
  }

  page(n: number): Buffer {
    const start = n * this.meta.pageSize;
    return this.file.subarray(start, start + this.meta.pageSize);
  }

  /** One overflow chain, whole; `total` is the item's length as its hash page states it. */
  overflow(first: number, total: number, owner: number): Buffer {
    const { le, pageSize, pages } = this.meta;
    if (total > this.file.length) throw new BdbUnreadable(`page ${owner}: an item of ${total} bytes in a file of ${this.file.length}`);
    const parts: Buffer[] = [];
    let length = 0;
    let prev = 0;
    for (let n = first; n !== 0;) {
      if (n >= pages) throw new BdbUnreadable(`page ${owner}: overflow page ${n} is past the end of the file (${pages} pages)`);
      if (this.used[n] === 1) throw new BdbUnreadable(`overflow page ${n} is used twice (a cycle or shared chain)`);
      this.used[n] = 1;
      const p = this.page(n);
      if (p[25] !== P_OVERFLOW) throw new BdbUnreadable(`page ${n} should be an overflow page, is of type ${p[25]}`);
      if (u32(p, 8, le) !== n || u32(p, 12, le) !== prev) throw new BdbUnreadable(`overflow page ${n}: its page links do not match its chain`);
      const len = u16(p, 22, le);
      if (len > pageSize - PAGE_HEADER || length + len > total) throw new BdbUnreadable(`overflow page ${n}: ${len} bytes overrun the page or the item's ${total}`);
      parts.push(p.subarray(PAGE_HEADER, PAGE_HEADER + len));
      length += len;
      prev = n;
      n = u32(p, 16, le);
    }
    if (length !== total) throw new BdbUnreadable(`page ${owner}: an item of ${total} bytes whose overflow chain holds ${length}`);
    return Buffer.concat(parts, length);
  }

  /** The item at index `i` of hash page `n`: its bytes, as the page index bounds them. */
  item(p: Buffer, n: number, i: number, count: number): Buffer {
    const { le, pageSize } = this.meta;
    const start = u16(p, PAGE_HEADER + 2 * i, le);
    // Items are packed from the page's end downwards in index order (db_page.h LEN_HITEM).
    const end = i === 0 ? pageSize : u16(p, PAGE_HEADER + 2 * (i - 1), le);
    if (start < PAGE_HEADER + 2 * count || start >= end || end > pageSize) throw new BdbUnreadable(`hash page ${n}: item ${i} at ${start}..${end} lies outside the page's item area`);
    return p.subarray(start, end);
  }

  value(item: Buffer, n: number): Buffer {
    if (item[0] === H_KEYDATA) return item.subarray(1);
    if (item[0] === H_OFFPAGE) {
      if (item.length < H_OFFPAGE_SIZE) throw new BdbUnreadable(`hash page ${n}: an overflow reference of ${item.length} bytes`);
      return this.overflow(u32(item, 4, this.meta.le), u32(item, 8, this.meta.le), n);
    }
    throw new BdbUnreadable(`hash page ${n}: ${ITEM_NAMES[item[0]!] ?? `an item of unknown type ${item[0]}`}, which rpm never writes`);
  }
}

/**
 * The data of every key/data pair in a Berkeley DB hash file, in file order, skipping the
 * pairs `skip` refuses by key. At most `maxRecords` values; past that it throws AppError
 * SCAN_LIMIT_EXCEEDED (`what`: the file, named in its message). Every whole
 * page of the file is walked, also past the last page the metadata names: a page count that
 * says less than the file holds hides nothing (rpm's own reader refuses such a file).
 */
export function* bdbHashValues(file: Buffer, maxRecords: number, skip: (key: Buffer) => boolean = () => false, what = 'Berkeley DB hash file'): Generator<Buffer> {
  const meta = readMeta(file);
  const reader = new Reader(file, meta);
  let records = 0;
  for (let n = 1; n < meta.pages; n += 1) {
    const p = reader.page(n);
    if (p[25] !== P_HASH && p[25] !== P_HASH_UNSORTED) continue;
    if (u32(p, 8, meta.le) !== n) throw new BdbUnreadable(`hash page ${n} calls itself page ${u32(p, 8, meta.le)}`);
    const count = u16(p, 20, meta.le);
    if (count % 2 !== 0 || PAGE_HEADER + 2 * count > meta.pageSize) throw new BdbUnreadable(`hash page ${n}: ${count} items do not make key/data pairs on one page`);
    for (let i = 0; i < count; i += 2) {
      const key = reader.item(p, n, i, count);
      const data = reader.item(p, n, i + 1, count);
      if (key[0] === H_KEYDATA && skip(key.subarray(1))) continue;
      records += 1;
      if (records > maxRecords) throw tooManyRecords(what, maxRecords);
      yield reader.value(data, n);
    }
  }
}
