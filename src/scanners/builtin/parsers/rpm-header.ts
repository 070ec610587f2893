/**
 * One rpm header blob, as the rpm database stores each installed package (rpm's
 * lib/header.c "header blob"): a big-endian index count and data length, the index entries
 * (tag, type, offset, count; 16 bytes each), then the data store. Only the tags the scanner
 * needs are read; any offset or count outside the blob makes the header unreadable (null).
 */
const TAG = { name: 1000, version: 1001, release: 1002, epoch: 1003, sourceRpm: 1044, dirIndexes: 1116, baseNames: 1117, dirNames: 1118 } as const;
const TYPE = { int32: 4, string: 6, stringArray: 8, i18nString: 9 } as const;

export interface RpmHeader {
  name: string;
  /** `[epoch:]version-release`, as OSV's RPM ecosystems write versions. */
  evr: string;
  /** Source package name from `SOURCERPM` (`glibc-2.34-60.el9.src.rpm` → `glibc`). */
  sourceName?: string;
  /** Installed file paths, absolute. */
  files: string[];
}

interface Entry {
  type: number;
  offset: number;
  count: number;
}

function strings(data: Buffer, e: Entry): string[] | null {
  const out: string[] = [];
  let at = e.offset;
  for (let i = 0; i < e.count; i += 1) {
    const end = data.indexOf(0, at);
    if (end < 0) return null;
    out.push(data.toString('utf8', at, end));
    at = end + 1;
  }
  return out;
}

export function parseRpmHeader(blob: Buffer): RpmHeader | null {
  if (blob.length < 8) return null;
  const il = blob.readUInt32BE(0);
  const dl = blob.readUInt32BE(4);
  const dataStart = 8 + il * 16;
  if (il > 100_000 || dataStart + dl > blob.length) return null;
  const data = blob.subarray(dataStart, dataStart + dl);
  const entries = new Map<number, Entry>();
  for (let i = 0; i < il; i += 1) {
    const at = 8 + i * 16;
    const e = { type: blob.readUInt32BE(at + 4), offset: blob.readInt32BE(at + 8), count: blob.readUInt32BE(at + 12) };
    if (e.offset < 0 || e.offset > dl) return null;
    entries.set(blob.readUInt32BE(at), e);
  }
  const str = (tag: number): string | undefined => {
    const e = entries.get(tag);
    if (!e || (e.type !== TYPE.string && e.type !== TYPE.i18nString && e.type !== TYPE.stringArray)) return undefined;
    return strings(data, { ...e, count: 1 })?.[0];
  };
  const name = str(TAG.name);
  const version = str(TAG.version);
  const release = str(TAG.release);
  if (!name || !version) return null;
  const epochEntry = entries.get(TAG.epoch);
  const epoch = epochEntry?.type === TYPE.int32 && epochEntry.offset + 4 <= dl ? data.readUInt32BE(epochEntry.offset) : 0;
  const evr = `${epoch > 0 ? `${epoch}:` : ''}${version}${release ? `-${release}` : ''}`;
  const source = /^(.+)-[^-]+-[^-]+\.(?:no)?src\.rpm$/.exec(str(TAG.sourceRpm) ?? '')?.[1];
  return { name, evr, ...(source && source !== name ? { sourceName: source } : {}), files: fileList(data, entries) };
}

function fileList(data: Buffer, entries: Map<number, Entry>): string[] {
  const base = entries.get(TAG.baseNames);
  const dirs = entries.get(TAG.dirNames);
  const idx = entries.get(TAG.dirIndexes);
  if (!base || !dirs || !idx || idx.offset + idx.count * 4 > data.length) return [];
  const names = strings(data, base);
  const dirNames = strings(data, dirs);
  if (!names || !dirNames || idx.count !== names.length) return [];
  return names.map((n, i) => `${dirNames[data.readUInt32BE(idx.offset + i * 4)] ?? ''}${n}`);
}
