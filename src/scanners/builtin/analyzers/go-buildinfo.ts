/**
 * The build information Go (1.18 and later) embeds in every executable, as `go version -m`
 * prints it: the Go version (`go1.19.8`) and the module list (`path`, `mod`, `dep`, `=>`
 * replacement, `build` lines). It sits in the `.go.buildinfo` section: a 32-byte header
 * starting with the magic `\xff Go buildinf:` at a 16-byte aligned file offset, then (flag
 * bit 2, Go ≥ 1.18) the version and the module text as varint-length-prefixed strings, the
 * module text wrapped in 16-byte sentinels (cmd/go/internal/modload, debug/buildinfo).
 *
 * The section is near the end of the file (96% into Debian's skopeo), so the executable is
 * streamed and searched chunk by chunk, never buffered whole; only the bytes from the magic
 * on are kept, up to {@link MAX_INFO_BYTES}.
 */

const MAGIC = Buffer.from('\xff Go buildinf:', 'latin1');
const HEADER = 32;
const FLAG_INLINE_STRINGS = 0x2;
/** Module text of a big binary (Kubernetes) is tens of KB; anything past this is not build info. */
const MAX_INFO_BYTES = 1024 * 1024;
const ELF = Buffer.from([0x7f, 0x45, 0x4c, 0x46]);

export interface GoModule {
  path: string;
  /** As the build info records it: `v1.2.3`, a pseudo-version, or `(devel)`. */
  version: string;
}

export interface GoBuildInfo {
  /** `go1.19.8`; undefined for a binary older than Go 1.18 (addresses instead of strings). */
  goVersion?: string;
  /** The main package's import path (`path` line). */
  path?: string;
  main?: GoModule;
  /** Dependencies, replacements applied. */
  deps: GoModule[];
}

function varint(buf: Buffer, at: number): { value: number; next: number } | null {
  let value = 0;
  for (let shift = 0, i = at; i < buf.length && shift < 35; shift += 7, i += 1) {
    const b = buf[i]!;
    value += (b & 0x7f) * 2 ** shift;
    if (b < 0x80) return { value, next: i + 1 };
  }
  return null;
}

/** Parses the `go version -m` module text (sentinels already removed). */
export function parseModInfo(text: string): Pick<GoBuildInfo, 'path' | 'main' | 'deps'> {
  const out: Pick<GoBuildInfo, 'path' | 'main' | 'deps'> = { deps: [] };
  let last: GoModule | undefined;
  for (const line of text.split('\n')) {
    const [key, path, version] = line.split('\t');
    if (key === 'path' && path) out.path = path;
    else if (key === 'mod' && path && version) last = out.main = { path, version };
    else if (key === 'dep' && path && version) out.deps.push((last = { path, version }));
    else if (key === '=>' && path && last) {
      // A replacement stands for the module above it: the code built is the replacement's.
      // A local directory replacement has no version, and then no package is made of it.
      last.path = path;
      last.version = version ?? '';
    }
  }
  return out;
}

type Parsed = GoBuildInfo | 'more' | 'invalid';

/** Parses the build info starting at `buf[0]` (the magic). */
function parseAt(buf: Buffer): Parsed {
  if (buf.length < HEADER) return 'more';
  const ptrSize = buf[14];
  const flags = buf[15]!;
  if (ptrSize !== 4 && ptrSize !== 8) return 'invalid';
  if ((flags & FLAG_INLINE_STRINGS) === 0) return { deps: [] }; // Go < 1.18: pointers, not strings
  const vlen = varint(buf, HEADER);
  if (!vlen) return buf.length - HEADER < 10 ? 'more' : 'invalid';
  if (vlen.next + vlen.value > buf.length) return vlen.next + vlen.value > MAX_INFO_BYTES ? 'invalid' : 'more';
  const goVersion = buf.toString('utf8', vlen.next, vlen.next + vlen.value);
  if (!goVersion.startsWith('go') && !goVersion.startsWith('devel')) return 'invalid';
  const mlen = varint(buf, vlen.next + vlen.value);
  if (!mlen) return buf.length - vlen.next - vlen.value < 10 ? 'more' : 'invalid';
  if (mlen.next + mlen.value > buf.length) return mlen.next + mlen.value > MAX_INFO_BYTES ? 'invalid' : 'more';
  let mod = buf.subarray(mlen.next, mlen.next + mlen.value);
  // 16-byte sentinels around the text (present whenever there is module information).
  if (mod.length >= 33 && mod[mod.length - 17] === 0x0a) mod = mod.subarray(16, mod.length - 16);
  return { goVersion, ...parseModInfo(mod.toString('utf8')) };
}

/**
 * Reads an executable's bytes to the end and returns its Go build info, or null when it is
 * not an ELF Go executable. The stream is always consumed fully (a tar entry must be).
 */
export async function readGoBuildInfo(stream: AsyncIterable<unknown> | Iterable<unknown>): Promise<GoBuildInfo | null> {
  let first = true;
  let found: GoBuildInfo | null = null;
  let searching = true;
  let buf: Buffer = Buffer.alloc(0);
  /** File offset of buf[0]. */
  let offset = 0;
  /** buf starts at a magic whose build info needs more bytes. */
  let collecting = false;
  for await (const data of stream) {
    const chunk = data as Buffer;
    if (first) {
      first = false;
      if (chunk.length < 4 || !chunk.subarray(0, 4).equals(ELF)) searching = false;
    }
    if (!searching) continue;
    if (buf.length === 0) {
      buf = chunk;
    } else if (!collecting && chunk.length >= MAGIC.length - 1 && Buffer.concat([buf, chunk.subarray(0, MAGIC.length - 1)]).indexOf(MAGIC) < 0) {
      // No magic straddles the boundary: search the chunk itself instead of copying it
      // behind the kept tail (every executable byte flows through here).
      offset += buf.length;
      buf = chunk;
    } else {
      buf = Buffer.concat([buf, chunk]);
    }
    collecting = false;
    let from = 0;
    for (;;) {
      const i = buf.indexOf(MAGIC, from);
      if (i < 0) {
        const keep = Math.min(buf.length, MAGIC.length - 1);
        offset += buf.length - keep;
        buf = buf.subarray(buf.length - keep);
        break;
      }
      if ((offset + i) % 16 !== 0) {
        from = i + 1;
        continue;
      }
      const r = parseAt(buf.subarray(i));
      if (r === 'invalid') {
        from = i + 1;
        continue;
      }
      if (r === 'more') {
        offset += i;
        buf = buf.subarray(i);
        collecting = true;
        break;
      }
      found = r;
      searching = false;
      buf = Buffer.alloc(0);
      break;
    }
  }
  return found;
}

/**
 * `go1.19.8` → `1.19.8`, as the Go vulnerability database writes stdlib versions: `go1.20`
 * → `1.20.0`, `go1.21rc2` → `1.21.0-rc.2`. Null for a development build (`devel …`).
 */
export function stdlibVersion(goVersion: string): string | null {
  const m = /^go(\d+)\.(\d+)(?:\.(\d+))?(?:(rc|beta)(\d+))?(?:\s|$)/.exec(goVersion);
  if (!m) return null;
  const base = `${m[1]}.${m[2]}.${m[3] ?? '0'}`;
  return m[4] ? `${base}-${m[4]}.${m[5]}` : base;
}

/** Module version as the Go vulnerability database writes it: no `v`. Null for `(devel)`. */
function moduleVersion(v: string): string | null {
  return /^v\d/.test(v) ? v.slice(1) : null;
}

/**
 * The packages of a Go binary for matching in the `Go` ecosystem: `stdlib` at the Go
 * version, the main module when it has a real version, and every dependency.
 */
export function goPackages(info: GoBuildInfo): Array<{ name: string; version: string }> {
  const out: Array<{ name: string; version: string }> = [];
  const std = info.goVersion ? stdlibVersion(info.goVersion) : null;
  if (std) out.push({ name: 'stdlib', version: std });
  for (const m of [...(info.main ? [info.main] : []), ...info.deps]) {
    const version = moduleVersion(m.version);
    if (version) out.push({ name: m.path, version });
  }
  return out;
}
