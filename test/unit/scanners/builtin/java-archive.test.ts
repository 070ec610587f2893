/**
 * Hostile Java archives: a central directory pointing many entries at the same bytes (one
 * deflated nested JAR inflated once per entry: a 7 KB layer kept a scan thread busy for hours)
 * is refused, and one archive with the archives nested in it shares one budget of entries and
 * inflated bytes. A refused archive has no packages, as one that is not a zip.
 */
import { crc32, deflateRawSync } from 'node:zlib';
import { readJavaArchive } from '../../../../src/scanners/builtin/analyzers/java-archive';
import { storedZip } from '../../../harness/zip';

const pom = (artifact: string): string => `groupId=g\nartifactId=${artifact}\nversion=1.0\n`;
const POM = (artifact: string): string => `META-INF/maven/g/${artifact}/pom.properties`;

/**
 * One deflated local entry (`content` under `names[0]`) and a central directory listing it
 * once per name, every one at offset 0, as the auditor's zip bomb (APPNOTE 6.3.10 §4.3).
 */
function overlappingZip(content: Buffer, names: string[]): Buffer {
  const data = deflateRawSync(content);
  const crc = crc32(content) >>> 0;
  const first = Buffer.from(names[0]!);
  const local = Buffer.alloc(30);
  local.writeUInt32LE(0x04034b50, 0);
  local.writeUInt16LE(20, 4);
  local.writeUInt16LE(8, 8); // deflated
  local.writeUInt32LE(crc, 14);
  local.writeUInt32LE(data.length, 18);
  local.writeUInt32LE(content.length, 22);
  local.writeUInt16LE(first.length, 26);
  const centrals = names.flatMap((n) => {
    const name = Buffer.from(n);
    const central = Buffer.alloc(46);
    central.writeUInt32LE(0x02014b50, 0);
    central.writeUInt16LE(20, 4);
    central.writeUInt16LE(20, 6);
    central.writeUInt16LE(8, 10);
    central.writeUInt32LE(crc, 16);
    central.writeUInt32LE(data.length, 20);
    central.writeUInt32LE(content.length, 24);
    central.writeUInt16LE(name.length, 28);
    central.writeUInt32LE(0, 42); // every entry at the first local header
    return [central, name];
  });
  const directory = Buffer.concat(centrals);
  const end = Buffer.alloc(22);
  end.writeUInt32LE(0x06054b50, 0);
  end.writeUInt16LE(names.length, 8);
  end.writeUInt16LE(names.length, 10);
  end.writeUInt32LE(directory.length, 12);
  end.writeUInt32LE(local.length + first.length + data.length, 16);
  return Buffer.concat([local, first, data, directory, end]);
}

describe('Java archives whose entries overlap', () => {
  test('the zip bomb\'s shape: many nested JARs that are one deflated JAR are refused; the same JAR listed once is read', async () => {
    const inner = storedZip({ [POM('inner')]: pom('inner') });
    const names = Array.from({ length: 50 }, (_, i) => `BOOT-INF/lib/x${i}.jar`);
    await expect(readJavaArchive(overlappingZip(inner, names))).resolves.toEqual({ packages: [] });
    await expect(readJavaArchive(overlappingZip(inner, names.slice(0, 1)))).resolves.toEqual({ packages: [{ name: 'g:inner', version: '1.0' }] });
  });

  test('two pom.properties entries sharing their bytes: the archive is refused', async () => {
    await expect(readJavaArchive(overlappingZip(Buffer.from(pom('a')), [POM('a'), POM('b')]))).resolves.toEqual({ packages: [] });
  });

  test('a nested archive whose entries overlap is skipped, as one that is not a zip; the rest of the archive is read', async () => {
    const bomb = overlappingZip(Buffer.from(pom('nested')), [POM('nested'), POM('again')]);
    const war = storedZip({ [POM('outer')]: pom('outer'), 'WEB-INF/lib/bomb.jar': bomb, 'WEB-INF/lib/ok.jar': storedZip({ [POM('ok')]: pom('ok') }) });
    await expect(readJavaArchive(war)).resolves.toEqual({ packages: [{ name: 'g:outer', version: '1.0' }, { name: 'g:ok', version: '1.0' }] });
  });
});

describe('one budget for an archive and the archives nested in it', () => {
  // Outer: its pom and two nested JARs (3 entries); each nested JAR: its pom and a class (2 entries each): 7.
  const nested = (artifact: string): Buffer => storedZip({ [POM(artifact)]: pom(artifact), 'C.class': 'x'.repeat(100) });
  const war = storedZip({ [POM('outer')]: pom('outer'), 'WEB-INF/lib/a.jar': nested('a'), 'WEB-INF/lib/b.jar': nested('b') });
  const all = [{ name: 'g:outer', version: '1.0' }, { name: 'g:a', version: '1.0' }, { name: 'g:b', version: '1.0' }];
  const inflated = pom('outer').length + nested('a').length + pom('a').length + nested('b').length + pom('b').length;

  test('entries: as many as the cap allows are read; one fewer refuses the whole archive, nested entries counted', async () => {
    await expect(readJavaArchive(war, { entries: 7, inflatedBytes: 1e9 })).resolves.toEqual({ packages: all });
    await expect(readJavaArchive(war, { entries: 6, inflatedBytes: 1e9 })).resolves.toEqual({ packages: [] });
  });

  test('inflated bytes: metadata and nested archives of every level count; one byte short refuses the whole archive', async () => {
    await expect(readJavaArchive(war, { entries: 100, inflatedBytes: inflated })).resolves.toEqual({ packages: all });
    await expect(readJavaArchive(war, { entries: 100, inflatedBytes: inflated - 1 })).resolves.toEqual({ packages: [] });
  });
});
