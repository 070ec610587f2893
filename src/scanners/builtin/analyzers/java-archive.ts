/**
 * Java archives (`.jar`, `.war`, `.ear`, and the fat JARs of Spring Boot and the shade
 * plugin): every `pom.properties` is a package (a shaded JAR carries its dependencies'
 * ones); an archive without any falls back to its manifest; archives nested inside
 * (`WEB-INF/lib/`, `BOOT-INF/lib/`, an EAR's modules) are opened in turn, to
 * {@link MAX_DEPTH} levels and within {@link MAX_NESTED_BYTES} each.
 *
 * A zip's directory is at its end, so the archive is read whole from memory (under the
 * kind's read cap); entries are inflated one at a time, and only metadata and nested archives.
 */
import yauzl, { type Entry, type ZipFile } from 'yauzl';
import type { ParsedPackage } from '../parsers/types';
import { parseManifest, parsePomProperties, POM_PROPERTIES } from '../parsers/java';

const MAX_DEPTH = 3;
const MAX_NESTED_BYTES = 128 * 1024 * 1024;
const MAX_METADATA_BYTES = 1024 * 1024;
export const JAVA_ARCHIVE = /\.(?:jar|war|ear)$/i;

function readEntry(zip: ZipFile, entry: Entry, cap: number): Promise<Buffer | null> {
  if (entry.uncompressedSize > cap) return Promise.resolve(null);
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

async function packagesOf(bytes: Buffer, depth: number): Promise<ParsedPackage[]> {
  const zip = await yauzl.fromBufferPromise(bytes, { lazyEntries: true, validateEntrySizes: true });
  const poms: ParsedPackage[] = [];
  const nested: ParsedPackage[] = [];
  let manifest: ParsedPackage | null = null;
  try {
    for (let entry = await nextEntry(zip); entry; entry = await nextEntry(zip)) {
      const name = entry.fileName;
      if (POM_PROPERTIES.test(name)) {
        const data = await readEntry(zip, entry, MAX_METADATA_BYTES);
        const p = data && parsePomProperties(data.toString('utf8'));
        if (p) poms.push(p);
      } else if (name === 'META-INF/MANIFEST.MF') {
        const data = await readEntry(zip, entry, MAX_METADATA_BYTES);
        manifest = data && parseManifest(data.toString('utf8'));
      } else if (depth < MAX_DEPTH && JAVA_ARCHIVE.test(name)) {
        const data = await readEntry(zip, entry, MAX_NESTED_BYTES);
        // A nested archive that is not a valid zip is skipped, not the whole image.
        if (data) nested.push(...(await packagesOf(data, depth + 1).catch(() => [])));
      }
    }
  } finally {
    zip.close();
  }
  return [...(poms.length > 0 ? poms : manifest ? [manifest] : []), ...nested];
}

/** The Maven packages in one archive and the archives nested in it, each once. */
export async function readJavaArchive(bytes: Buffer): Promise<{ packages: ParsedPackage[] }> {
  let found: ParsedPackage[];
  try {
    found = await packagesOf(bytes, 1);
  } catch {
    return { packages: [] }; // not a zip: a file named .jar that is not one has no packages
  }
  const seen = new Set<string>();
  return { packages: found.filter((p) => !seen.has(`${p.name}@${p.version}`) && seen.add(`${p.name}@${p.version}`)) };
}
