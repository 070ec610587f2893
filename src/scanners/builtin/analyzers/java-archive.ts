/**
 * Java archives (`.jar`, `.war`, `.ear`, and the fat JARs of Spring Boot and the shade
 * plugin): every `pom.properties` is a package (a shaded JAR carries its dependencies'
 * ones); an archive without any falls back to its manifest; archives nested inside
 * (`WEB-INF/lib/`, `BOOT-INF/lib/`, an EAR's modules) are opened in turn, to
 * {@link MAX_DEPTH} levels and within {@link MAX_NESTED_BYTES} each.
 *
 * A zip's directory is at its end, so the archive is read whole from memory (under the
 * kind's read cap); entries are inflated one at a time, and only metadata and nested archives.
 *
 * A zip's directory may point many entries at the same compressed bytes: a 7 KB layer made
 * one .jar inflate 128 MiB thousands of times. So entries must not overlap (each compressed
 * byte is inflated at most once), and one archive with the archives nested in it shares one
 * budget of entries and inflated bytes ({@link ARCHIVE_CAPS}). An archive refused for either,
 * or holding a nested archive refused for overlapping entries, has no packages and a coverage
 * finding (PORTCULLIS-UNSCANNED-JAVA-ARCHIVE): fail closed under `coverage: block`, never a pass
 * by silence. A nested file that is no zip at all is skipped.
 */
import yauzl, { type Entry, type ZipFile } from 'yauzl';
import type { ParsedPackage } from '../parsers/types';
import { parseManifest, parsePomProperties, POM_PROPERTIES } from '../parsers/java';

const MAX_DEPTH = 3;
const MAX_NESTED_BYTES = 128 * 1024 * 1024;
const MAX_METADATA_BYTES = 1024 * 1024;

/** What one archive and all archives nested in it may cost together. */
export interface ArchiveCaps {
  /** Entries listed. The largest real fat JARs and EARs list tens of thousands. @defaultValue 500,000 */
  entries: number;
  /** Bytes inflated (nested archives and metadata). The largest real EARs hold a few hundred MB. @defaultValue 1 GiB */
  inflatedBytes: number;
}

export const ARCHIVE_CAPS: ArchiveCaps = { entries: 500_000, inflatedBytes: 1024 * 1024 * 1024 };
export const JAVA_ARCHIVE = /\.(?:jar|war|ear)$/i;

const LOCAL_HEADER = 0x04034b50;
const LOCAL_HEADER_BYTES = 30;

/**
 * An archive that opened as a zip and was then refused: overlapping entries, a local header out
 * of place, an entry the zip reader refuses (a name such as `../x`), an entry over its cap. A JVM
 * may still load the rest of it, so it is said (a coverage finding), never passed by silence.
 */
class Refused extends Error {}
/** The budget of the outermost archive is spent: the whole archive is refused, not only the nested one. */
class BudgetSpent extends Error {}

/** What one archive and the archives nested in it may still cost, spent as they are read. */
interface Budget {
  caps: ArchiveCaps;
  entries: number;
  inflated: number;
}

function readEntry(zip: ZipFile, entry: Entry, cap: number, budget: Budget): Promise<Buffer> {
  if (entry.uncompressedSize > cap) return Promise.reject(new Refused(`${entry.fileName}: ${entry.uncompressedSize} bytes, over the ${cap}-byte cap`));
  // Charged before inflating, from the declared size: yauzl fails a stream longer than it (validateEntrySizes).
  if (entry.uncompressedSize > budget.inflated) return Promise.reject(new BudgetSpent(`more than ${budget.caps.inflatedBytes} bytes to inflate`));
  budget.inflated -= entry.uncompressedSize;
  return new Promise((resolve, reject) => {
    zip.openReadStream(entry, (err, stream) => {
      if (err) return reject(err);
      const chunks: Buffer[] = [];
      let total = 0;
      stream.on('data', (c: Buffer) => {
        total += c.length;
        if (total > cap) stream.destroy(new Error('entry larger than it declared'));
        else chunks.push(c);
      });
      stream.on('error', reject);
      stream.on('end', () => resolve(Buffer.concat(chunks)));
    });
  });
}

/** The bytes an entry takes in the archive: its local header, name, extra field and compressed data. */
function localRange(bytes: Buffer, entry: Entry): [number, number] {
  const at = entry.relativeOffsetOfLocalHeader;
  if (at + LOCAL_HEADER_BYTES > bytes.length || bytes.readUInt32LE(at) !== LOCAL_HEADER) throw new Refused(`no local header at ${at}`);
  const end = at + LOCAL_HEADER_BYTES + bytes.readUInt16LE(at + 26) + bytes.readUInt16LE(at + 28) + entry.compressedSize;
  if (end > bytes.length) throw new Refused(`entry at ${at} ends past the archive`);
  return [at, end];
}

/** Refuses entries whose ranges overlap (`ranges`: start and end of each, in pairs). */
function checkDisjoint(ranges: Float64Array, count: number): void {
  const order = Uint32Array.from({ length: count }, (_, i) => i).sort((a, b) => ranges[2 * a]! - ranges[2 * b]!);
  for (let i = 1; i < count; i += 1) {
    if (ranges[2 * order[i]!]! < ranges[2 * order[i - 1]! + 1]!) throw new Refused(`entries overlap at ${ranges[2 * order[i]!]}`);
  }
}

/** The next entry of a lazily read zip, or null at its end. */
function nextEntry(zip: ZipFile): Promise<Entry | null> {
  return new Promise((resolve, reject) => {
    const done = (): void => {
      zip.off('entry', onEntry);
      zip.off('end', onEnd);
      zip.off('error', onError);
    };
    const onEntry = (e: Entry): void => (done(), resolve(e));
    const onEnd = (): void => (done(), resolve(null));
    const onError = (err: Error): void => (done(), reject(err));
    zip.on('entry', onEntry);
    zip.on('end', onEnd);
    zip.on('error', onError);
    zip.readEntry();
  });
}

type Wanted = { entry: Entry; what: 'pom' | 'manifest' | 'nested' };

/**
 * Lists every entry first (cheap: nothing inflated) to check they do not overlap, keeping the
 * ones to read; then reads those.
 */
async function packagesOf(bytes: Buffer, depth: number, budget: Budget): Promise<ParsedPackage[]> {
  const zip = await yauzl.fromBufferPromise(bytes, { lazyEntries: true, validateEntrySizes: true });
  const poms: ParsedPackage[] = [];
  const nested: ParsedPackage[] = [];
  let manifest: ParsedPackage | null = null;
  try {
    if (zip.entryCount > budget.entries) throw new BudgetSpent(`more than ${budget.caps.entries} entries`);
    budget.entries -= zip.entryCount;
    const ranges = new Float64Array(2 * zip.entryCount);
    const wanted: Wanted[] = [];
    let count = 0;
    for (let entry = await nextEntry(zip); entry; entry = await nextEntry(zip)) {
      ranges.set(localRange(bytes, entry), 2 * count);
      count += 1;
      const name = entry.fileName;
      if (POM_PROPERTIES.test(name)) wanted.push({ entry, what: 'pom' });
      else if (name === 'META-INF/MANIFEST.MF') wanted.push({ entry, what: 'manifest' });
      else if (depth < MAX_DEPTH && JAVA_ARCHIVE.test(name)) wanted.push({ entry, what: 'nested' });
    }
    checkDisjoint(ranges, count);
    for (const { entry, what } of wanted) {
      if (what === 'pom') {
        const data = await readEntry(zip, entry, MAX_METADATA_BYTES, budget);
        const p = parsePomProperties(data.toString('utf8'));
        if (p) poms.push(p);
      } else if (what === 'manifest') {
        const data = await readEntry(zip, entry, MAX_METADATA_BYTES, budget);
        manifest = parseManifest(data.toString('utf8'));
      } else {
        const data = await readEntry(zip, entry, MAX_NESTED_BYTES, budget);
        // A nested file that does not open as a zip is skipped (no JVM loads it either); the budget it spent stays spent.
        nested.push(...(await packagesOf(data, depth + 1, budget).catch(skipUnlessRefused)));
      }
    }
  } catch (err) {
    if (err instanceof BudgetSpent || err instanceof Refused) throw err;
    // It opened as a zip and the zip reader then refused an entry (`../x`, a size it does not keep).
    throw new Refused(`an entry the zip reader refuses: ${(err as Error).message}`);
  } finally {
    zip.close();
  }
  return [...(poms.length > 0 ? poms : manifest ? [manifest] : []), ...nested];
}

/**
 * A nested file that does not open as a zip is skipped; a nested archive refused once open
 * (overlapping entries, an entry the zip reader refuses, one over its cap) or past the budget
 * refuses the outermost archive, which a coverage finding then names: that is how a hostile
 * archive would hide a vulnerable library inside an otherwise readable one.
 */
function skipUnlessRefused(err: unknown): ParsedPackage[] {
  if (err instanceof BudgetSpent || err instanceof Refused) throw err;
  return [];
}

/**
 * The Maven packages in one archive and the archives nested in it, each once. An archive this
 * reader refuses once open (see {@link Refused}, or over the budget) has none and says why (`unreadable`: a
 * coverage finding, ../java-coverage.ts); a file named .jar that is no zip at all (which no JVM
 * loads either) has none, silently.
 */
export async function readJavaArchive(bytes: Buffer, caps: ArchiveCaps = ARCHIVE_CAPS): Promise<{ packages: ParsedPackage[]; unreadable?: string }> {
  let found: ParsedPackage[];
  try {
    found = await packagesOf(bytes, 1, { caps, entries: caps.entries, inflated: caps.inflatedBytes });
  } catch (err) {
    if (err instanceof BudgetSpent || err instanceof Refused) return { packages: [], unreadable: err.message };
    return { packages: [] };
  }
  const seen = new Set<string>();
  return { packages: found.filter((p) => !seen.has(`${p.name}@${p.version}`) && seen.add(`${p.name}@${p.version}`)) };
}
