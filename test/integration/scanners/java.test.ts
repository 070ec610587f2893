/**
 * Java archives: Debian's real jackson-databind and commons-text JARs (apt-get download),
 * alone, nested in a WAR and in a Spring-Boot-style fat JAR, matched in the Maven ecosystem.
 * The advisory for commons-text is GHSA-599f-7c49-w659 (Text4Shell) with its published range;
 * the jackson-databind one is a test record whose range ends just past the real JAR's version.
 */
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { BuiltinScanner } from '../../../src/scanners/builtin/adapter';
import type { ScanReport } from '../../../src/scanners/types';
import { debianPackage } from '../../harness/debian-package';
import { buildImage, type ImageSpec } from '../../harness/images';
import { overlappingZip, storedZip } from '../../harness/zip';
import { MemoryRegistry } from '../../unit/scanners/builtin/memory-registry';

const maven = (name: string, events: object[]) => ({ package: { ecosystem: 'Maven', name }, ranges: [{ type: 'ECOSYSTEM', events }] });

describe('Java archives', () => {
  let osv: string;
  let scanner: BuiltinScanner;
  let jackson: Buffer;
  let text: Buffer;

  beforeAll(() => {
    osv = mkdtempSync(path.join(os.tmpdir(), 'pcs-osv-maven-'));
    writeFileSync(path.join(osv, 'GHSA-599f-7c49-w659.json'), JSON.stringify({
      id: 'GHSA-599f-7c49-w659', aliases: ['CVE-2022-42889'], modified: '2024-02-16T08:06:48Z', summary: 'Arbitrary code execution in Apache Commons Text',
      severity: [{ type: 'CVSS_V3', score: 'CVSS:3.1/AV:N/AC:L/PR:N/UI:N/S:U/C:H/I:H/A:H' }],
      affected: [maven('org.apache.commons:commons-text', [{ introduced: '1.5' }, { fixed: '1.10.0' }])],
    }));
    writeFileSync(path.join(osv, 'TEST-JACKSON.json'), JSON.stringify({
      id: 'TEST-JACKSON-1', modified: '2024-01-01T00:00:00Z', summary: 'test advisory for jackson-databind',
      severity: [{ type: 'CVSS_V3', score: 'CVSS:3.1/AV:N/AC:L/PR:N/UI:N/S:U/C:N/I:N/A:H' }],
      affected: [maven('com.fasterxml.jackson.core:jackson-databind', [{ introduced: '2.13.0' }, { fixed: '2.14.0.1' }])],
    }));
    scanner = new BuiltinScanner({ name: 'builtin', osvPath: osv });
    const jar = (pkg: string, file: RegExp): Buffer => {
      const files = debianPackage(pkg).files;
      const name = Object.keys(files).find((f) => file.test(f))!;
      return files[name] as Buffer;
    };
    // One regular file per package (the versioned names and Maven-repository paths are symlinks to it).
    jackson = jar('libjackson2-databind-java', /^usr\/share\/java\/jackson-databind(-[\d.]+)?\.jar$/);
    text = jar('libcommons-text-java', /^usr\/share\/java\/commons-text(-[\d.]+)?\.jar$/);
  });
  afterAll(() => rmSync(osv, { recursive: true, force: true }));

  async function scan(files: ImageSpec['layers'][number]['files']): Promise<ScanReport> {
    const img = await buildImage({ layers: [{ files }], config: { User: '1000' } });
    const registry = new MemoryRegistry().addImage(img);
    return scanner.scan({ registry, repository: 'q/java', digest: img.digest, registryUrl: registry.url });
  }
  const rows = (r: ScanReport) => r.findings.map((f) => [f.id, f.package, f.installedVersion, f.fixedVersion, f.severity, f.ecosystem, f.path]).sort();

  test('a JAR\'s pom.properties names the Maven package; the fixed-at version is not a finding', async () => {
    const r = await scan({ 'app/lib/jackson-databind.jar': jackson, 'app/lib/commons-text.jar': text });
    expect(r.status).toBe('succeeded');
    expect(rows(r)).toEqual([
      ['TEST-JACKSON-1', 'com.fasterxml.jackson.core:jackson-databind', '2.14.0', '2.14.0.1', 'high', 'Maven', '/app/lib/jackson-databind.jar'],
    ]);
  });

  test('JARs nested in a WAR and in a fat JAR are read; a version inside the vulnerable range is found', async () => {
    // commons-text 1.9 inside: the pom.properties of the real JAR with its version set back.
    const old = storedZip({ 'META-INF/maven/org.apache.commons/commons-text/pom.properties': 'groupId=org.apache.commons\nartifactId=commons-text\nversion=1.9\n' });
    const war = storedZip({ 'WEB-INF/web.xml': '<web-app/>', 'WEB-INF/lib/jackson-databind-2.14.0.jar': jackson, 'WEB-INF/lib/commons-text-1.10.0.jar': text });
    const fat = storedZip({ 'META-INF/MANIFEST.MF': 'Manifest-Version: 1.0\r\nMain-Class: org.springframework.boot.loader.JarLauncher\r\n', 'BOOT-INF/lib/commons-text-1.9.jar': old });
    const r = await scan({ 'opt/app.war': war, 'opt/boot.jar': fat });
    expect(rows(r)).toEqual([
      ['GHSA-599f-7c49-w659', 'org.apache.commons:commons-text', '1.9', '1.10.0', 'critical', 'Maven', '/opt/boot.jar'],
      ['TEST-JACKSON-1', 'com.fasterxml.jackson.core:jackson-databind', '2.14.0', '2.14.0.1', 'high', 'Maven', '/opt/app.war'],
    ]);
  });

  test('an EAR holding a WAR holding the JAR, and a shaded JAR with its dependency\'s pom.properties inside, are read too', async () => {
    const war = storedZip({ 'WEB-INF/lib/jackson-databind-2.14.0.jar': jackson });
    const ear = storedZip({ 'META-INF/application.xml': '<application/>', 'web.war': war });
    const shaded = storedZip({
      'META-INF/maven/com.example/app/pom.properties': 'groupId=com.example\nartifactId=app\nversion=3.0\n',
      'META-INF/maven/org.apache.commons/commons-text/pom.properties': 'groupId=org.apache.commons\nartifactId=commons-text\nversion=1.6\n',
    });
    const r = await scan({ 'opt/app.ear': ear, 'opt/shaded.jar': shaded });
    expect(rows(r).map((x) => [x[0], x[1], x[2], x[3], x[6]])).toEqual([
      ['GHSA-599f-7c49-w659', 'org.apache.commons:commons-text', '1.6', '1.10.0', '/opt/shaded.jar'],
      ['TEST-JACKSON-1', 'com.fasterxml.jackson.core:jackson-databind', '2.14.0', '2.14.0.1', '/opt/app.ear'],
    ]);
  });

  test('a WAR hiding the vulnerable JAR beside a nested JAR whose entries overlap is not passed: it is a coverage finding', async () => {
    const bomb = overlappingZip(Buffer.from('groupId=g\nartifactId=x\nversion=1\n'), ['META-INF/maven/g/x/pom.properties', 'META-INF/maven/g/y/pom.properties']);
    const r = await scan({ 'srv/app.war': storedZip({ 'WEB-INF/lib/commons-text.jar': text, 'WEB-INF/lib/bomb.jar': bomb }) });
    expect(r.status).toBe('succeeded');
    expect(r.findings.map((f) => [f.id, f.kind, f.path])).toEqual([['PORTCULLIS-UNSCANNED-JAVA-ARCHIVE', 'coverage', '/srv/app.war']]);
    // The same with one entry the zip reader refuses (a JVM ignores it and runs the library).
    const named = await scan({ 'srv/app.war': storedZip({ 'WEB-INF/lib/commons-text.jar': text, '../x': 'x' }) });
    expect(named.findings.map((f) => [f.id, f.kind, f.path])).toEqual([['PORTCULLIS-UNSCANNED-JAVA-ARCHIVE', 'coverage', '/srv/app.war']]);
  });

  test('without pom.properties the manifest names the artifact; a file named .jar that is not a zip is nothing', async () => {
    const manifestOnly = storedZip({
      'META-INF/MANIFEST.MF': 'Manifest-Version: 1.0\r\nImplementation-Title: commons-text\r\nImplementation-Vendor-Id: org.apache.co\r\n mmons\r\nImplementation-Version: 1.8\r\n',
    });
    const r = await scan({ 'srv/a.jar': manifestOnly, 'srv/b.jar': 'not a zip' });
    expect(rows(r).map((x) => [x[0], x[1], x[2], x[6]])).toEqual([['GHSA-599f-7c49-w659', 'org.apache.commons:commons-text', '1.8', '/srv/a.jar']]);
  });
});
