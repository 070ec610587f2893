/**
 * Hostile Java archives: a central directory pointing many entries at the same bytes (one
 * deflated nested JAR inflated once per entry: a 7 KB layer kept a scan thread busy for hours)
 * is refused, and one archive with the archives nested in it shares one budget of entries and
 * inflated bytes. A refused archive has no packages and a coverage finding that says why
 * (PORTCULLIS-UNSCANNED-JAVA-ARCHIVE); a file named .jar that is no zip at all has none, silently.
 */
import { readJavaArchive } from '../../../../src/scanners/builtin/analyzers/java-archive';
import { LayerChanges, MergedFilesystem } from '../../../../src/scanners/builtin/filesystem';
import { javaCoverageFindings, UNSCANNED_JAVA_ARCHIVE } from '../../../../src/scanners/builtin/java-coverage';
import { overlappingZip, storedZip } from '../../../harness/zip';

const pom = (artifact: string): string => `groupId=g\nartifactId=${artifact}\nversion=1.0\n`;
const POM = (artifact: string): string => `META-INF/maven/g/${artifact}/pom.properties`;

describe('Java archives whose entries overlap', () => {
  test('the zip bomb\'s shape: many nested JARs that are one deflated JAR are refused; the same JAR listed once is read', async () => {
    const inner = storedZip({ [POM('inner')]: pom('inner') });
    const names = Array.from({ length: 50 }, (_, i) => `BOOT-INF/lib/x${i}.jar`);
    await expect(readJavaArchive(overlappingZip(inner, names))).resolves.toEqual({ packages: [], unreadable: expect.stringMatching(/^entries overlap at \d+$/) });
    await expect(readJavaArchive(overlappingZip(inner, names.slice(0, 1)))).resolves.toEqual({ packages: [{ name: 'g:inner', version: '1.0' }] });
  });

  test('two pom.properties entries sharing their bytes: the archive is refused', async () => {
    await expect(readJavaArchive(overlappingZip(Buffer.from(pom('a')), [POM('a'), POM('b')]))).resolves.toEqual({ packages: [], unreadable: expect.stringContaining('overlap') });
  });

  test('a nested archive whose entries overlap refuses the outer one (it could hide a library there); a nested file that is no zip is skipped', async () => {
    const bomb = overlappingZip(Buffer.from(pom('nested')), [POM('nested'), POM('again')]);
    const ok = storedZip({ [POM('ok')]: pom('ok') });
    const war = storedZip({ [POM('outer')]: pom('outer'), 'WEB-INF/lib/bomb.jar': bomb, 'WEB-INF/lib/ok.jar': ok });
    await expect(readJavaArchive(war)).resolves.toEqual({ packages: [], unreadable: expect.stringContaining('overlap') });
    const notZip = storedZip({ [POM('outer')]: pom('outer'), 'WEB-INF/lib/junk.jar': 'not a zip', 'WEB-INF/lib/ok.jar': ok });
    await expect(readJavaArchive(notZip)).resolves.toEqual({ packages: [{ name: 'g:outer', version: '1.0' }, { name: 'g:ok', version: '1.0' }] });
    await expect(readJavaArchive(Buffer.from('not a zip at all'))).resolves.toEqual({ packages: [] });
  });

  test('an entry the zip reader refuses, or one over its cap, refuses the archive (said, not skipped): the rest may still run in a JVM', async () => {
    const ok = storedZip({ [POM('ok')]: pom('ok') });
    await expect(readJavaArchive(storedZip({ [POM('outer')]: pom('outer'), '../x': 'x', 'WEB-INF/lib/ok.jar': ok })))
      .resolves.toEqual({ packages: [], unreadable: expect.stringContaining('an entry the zip reader refuses') });
    const nested = storedZip({ [POM('hidden')]: pom('hidden'), '../x': 'x' });
    await expect(readJavaArchive(storedZip({ [POM('outer')]: pom('outer'), 'WEB-INF/lib/hidden.jar': nested })))
      .resolves.toEqual({ packages: [], unreadable: expect.stringContaining('an entry the zip reader refuses') });
    const huge = storedZip({ [POM('huge')]: `${pom('huge')}${'#'.repeat(1024 * 1024)}` });
    await expect(readJavaArchive(huge)).resolves.toEqual({ packages: [], unreadable: expect.stringMatching(/pom\.properties: \d+ bytes, over the 1048576-byte cap$/) });
  });

  test('a refused archive is a coverage finding of the scan, never a pass by silence', () => {
    const fs = new MergedFilesystem();
    const layer = new LayerChanges('sha256:l1');
    layer.facts.set('app/lib/bomb.jar', { layer: 'sha256:l1', kind: 'java-archive', packages: [], unreadable: 'entries overlap at 0' });
    layer.facts.set('app/lib/fine.jar', { layer: 'sha256:l1', kind: 'java-archive', packages: [{ name: 'g:fine', version: '1.0' }] });
    fs.apply(layer);
    expect(javaCoverageFindings(fs)).toEqual([expect.objectContaining({
      id: UNSCANNED_JAVA_ARCHIVE, kind: 'coverage', severity: 'unknown', path: '/app/lib/bomb.jar', layer: 'sha256:l1', title: expect.stringContaining('entries overlap at 0'),
    })]);
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
    await expect(readJavaArchive(war, { entries: 6, inflatedBytes: 1e9 })).resolves.toEqual({ packages: [], unreadable: 'more than 6 entries' });
  });

  test('inflated bytes: metadata and nested archives of every level count; one byte short refuses the whole archive', async () => {
    await expect(readJavaArchive(war, { entries: 100, inflatedBytes: inflated })).resolves.toEqual({ packages: all });
    await expect(readJavaArchive(war, { entries: 100, inflatedBytes: inflated - 1 })).resolves.toEqual({ packages: [], unreadable: `more than ${inflated - 1} bytes to inflate` });
  });
});
