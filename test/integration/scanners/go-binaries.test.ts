/**
 * Go executables: the build info embedded by the Go linker, read while the layer streams,
 * matched against the real Go vulnerability database (../shared/realworld/osv/Go/all.zip).
 * The binaries are real: Debian's skopeo (go1.19.8, no module list: Debian builds in GOPATH
 * mode) and a program built here with Debian's golang-go and one vendored dependency. What
 * the scanner reads is checked against `go version -m`.
 */
import { createReadStream, cpSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { readGoBuildInfo } from '../../../src/scanners/builtin/analyzers/go-buildinfo';
import { BuiltinScanner } from '../../../src/scanners/builtin/adapter';
import type { ScanReport } from '../../../src/scanners/types';
import { buildGoProgram, goVersionM } from '../../harness/go-build';
import { buildImage, type ImageSpec } from '../../harness/images';
import { realworld } from '../../harness/realworld';
import { MemoryRegistry } from '../../unit/scanners/builtin/memory-registry';

const SKOPEO = '/usr/bin/skopeo';

describe('Go binaries', () => {
  let osv: string;
  let scanner: BuiltinScanner;
  let app: string;

  beforeAll(() => {
    osv = mkdtempSync(path.join(os.tmpdir(), 'pcs-osv-go-'));
    cpSync(realworld('osv', 'Go', 'all.zip'), path.join(osv, 'all.zip'));
    scanner = new BuiltinScanner({ name: 'builtin', osvPath: osv });
    app = buildGoProgram();
  });
  afterAll(() => rmSync(osv, { recursive: true, force: true }));

  async function scan(files: ImageSpec['layers'][number]['files']): Promise<ScanReport> {
    const img = await buildImage({ layers: [{ files }], config: { User: '1000' } });
    const registry = new MemoryRegistry().addImage(img);
    return scanner.scan({ registry, repository: 'q/go', digest: img.digest, registryUrl: registry.url });
  }
  const exe = (file: string) => ({ content: readFileSync(file), mode: 0o755 });

  test.each([[SKOPEO], ['the program built here']])('the build info read from %s is what `go version -m` prints', async (which) => {
    const file = which === SKOPEO ? SKOPEO : app;
    const info = await readGoBuildInfo(createReadStream(file, { highWaterMark: 64 * 1024 }));
    const go = goVersionM(file);
    expect(info?.goVersion).toBe(go.goVersion);
    const lines = [
      ...(info?.path ? [`path\t${info.path}`] : []),
      ...(info?.main ? [`mod\t${info.main.path}\t${info.main.version}`] : []),
      ...(info?.deps ?? []).map((d) => `dep\t${d.path}\t${d.version}`),
    ];
    expect(lines).toEqual(go.lines.map((l) => l.split('\t').slice(0, 3).join('\t')));
  });

  test('Debian skopeo: stdlib 1.19.8 has the real stdlib advisories fixed after it, none fixed at or before it', async () => {
    const r = await scan({ 'usr/bin/skopeo': exe(SKOPEO) });
    expect(r.status).toBe('succeeded');
    const vulns = r.findings.filter((f) => f.kind === 'vulnerability');
    expect(new Set(vulns.map((f) => `${f.ecosystem} ${f.package} ${f.installedVersion} ${f.path}`))).toEqual(new Set(['Go stdlib 1.19.8 /usr/bin/skopeo']));
    // 80 stdlib advisories affect 1.19.8 in this database (counted independently of the scanner).
    expect(vulns).toHaveLength(80);
    const byId = Object.fromEntries(vulns.map((f) => [f.id, f]));
    expect(byId['GO-2023-1878']).toMatchObject({ aliases: ['CVE-2023-29406'], fixedVersion: '1.19.11', severity: 'unknown', title: 'Insufficient sanitization of Host header in net/http' });
    expect(byId['GO-2023-1751']?.fixedVersion).toBe('1.19.9');
    // Fixed in 1.19.8 exactly: not a finding.
    for (const id of ['GO-2023-1702', 'GO-2023-1703', 'GO-2023-1704']) expect(byId[id]).toBeUndefined();
    // The Go database carries no severity: each finding is a coverage finding too (fail closed).
    expect(r.findings.filter((f) => f.kind === 'coverage').map((f) => f.id).sort()).toEqual(vulns.map((f) => `PORTCULLIS-UNSCORED-SEVERITY:${f.id}`).sort());
  });

  test('with a scored record for an alias in the data (a CVE record), that Go finding takes its severity and is no coverage finding', async () => {
    const withCve = mkdtempSync(path.join(os.tmpdir(), 'pcs-osv-go-cve-'));
    try {
      cpSync(path.join(osv, 'all.zip'), path.join(withCve, 'all.zip'));
      // NVD's vector for CVE-2023-29406 (6.5, medium), in a CVE record of the form OSV converts
      // NVD's into: no package, a GIT range on the Go repository (it matches nothing itself).
      writeFileSync(path.join(withCve, 'CVE-2023-29406.json'), JSON.stringify({
        id: 'CVE-2023-29406', modified: '2023-07-11T00:00:00Z', severity: [{ type: 'CVSS_V3', score: 'CVSS:3.1/AV:N/AC:L/PR:N/UI:R/S:U/C:N/I:H/A:N' }],
        affected: [{ ranges: [{ type: 'GIT', repo: 'https://go.googlesource.com/go', events: [{ introduced: '0' }, { fixed: '1.19.11' }] }] }],
      }));
      const img = await buildImage({ layers: [{ files: { 'usr/bin/skopeo': exe(SKOPEO) } }], config: { User: '1000' } });
      const registry = new MemoryRegistry().addImage(img);
      const r = await new BuiltinScanner({ name: 'builtin', osvPath: withCve }).scan({ registry, repository: 'q/go', digest: img.digest, registryUrl: registry.url });
      const go = r.findings.find((f) => f.id === 'GO-2023-1878');
      expect(go).toMatchObject({ severity: 'medium', cvss: { version: '3.1', score: 6.5 }, fixedVersion: '1.19.11' });
      const coverage = r.findings.filter((f) => f.kind === 'coverage').map((f) => f.id);
      expect(coverage).not.toContain('PORTCULLIS-UNSCORED-SEVERITY:GO-2023-1878');
      // The other 79 stay unscored, each said; the CVE record is no finding of its own.
      expect(coverage).toHaveLength(79);
      expect(r.findings.filter((f) => f.kind === 'vulnerability')).toHaveLength(80);
      expect(r.findings.some((f) => f.id === 'CVE-2023-29406')).toBe(false);
    } finally {
      rmSync(withCve, { recursive: true, force: true });
    }
  });

  test('a module dependency is matched in the Go ecosystem; the fixed-at version is not', async () => {
    const r = await scan({ 'app/server': exe(app) });
    const deps = r.findings.filter((f) => f.kind === 'vulnerability' && f.package !== 'stdlib');
    expect(deps.map((f) => [f.id, f.package, f.installedVersion, f.fixedVersion]).sort()).toEqual([
      ['GO-2022-1059', 'golang.org/x/text', '0.3.7', '0.3.8'],
      ['GO-2026-5970', 'golang.org/x/text', '0.3.7', '0.39.0'],
    ]);
    // The main module is `(devel)`: no package is made of it.
    expect(r.findings.some((f) => f.package === 'example.com/app')).toBe(false);
  });

  test('with GitHub\'s twin of a Go record in the data (GHSA-69ch-w2m2-3vjp, real): one finding, led by the Go id, with GitHub\'s severity', async () => {
    const withGhsa = mkdtempSync(path.join(os.tmpdir(), 'pcs-osv-go-ghsa-'));
    try {
      cpSync(path.join(osv, 'all.zip'), path.join(withGhsa, 'all.zip'));
      cpSync(path.join(__dirname, '../../fixtures/osv/go-ghsa/GHSA-69ch-w2m2-3vjp.json'), path.join(withGhsa, 'GHSA-69ch-w2m2-3vjp.json'));
      const img = await buildImage({ layers: [{ files: { 'app/server': exe(app) } }], config: { User: '1000' } });
      const registry = new MemoryRegistry().addImage(img);
      const r = await new BuiltinScanner({ name: 'builtin', osvPath: withGhsa }).scan({ registry, repository: 'q/go', digest: img.digest, registryUrl: registry.url });
      const deps = r.findings.filter((f) => f.package === 'golang.org/x/text');
      expect(deps.map((f) => [f.kind, f.id, f.aliases.join(' '), f.fixedVersion, f.severity]).sort()).toEqual([
        ['coverage', 'PORTCULLIS-UNSCORED-SEVERITY:GO-2026-5970', 'GO-2026-5970 CVE-2026-56852', '0.39.0', 'unknown'],
        ['vulnerability', 'GO-2022-1059', 'CVE-2022-32149 GHSA-69ch-w2m2-3vjp', '0.3.8', 'high'],
        ['vulnerability', 'GO-2026-5970', 'CVE-2026-56852', '0.39.0', 'unknown'],
      ]);
      expect(r.summary.high).toBe(1);
    } finally {
      rmSync(withGhsa, { recursive: true, force: true });
    }
  });

  test('the magic split across any two chunks is still found', async () => {
    const bytes = readFileSync(app);
    const at = bytes.indexOf(Buffer.from('\xff Go buildinf:', 'latin1'));
    const whole = await readGoBuildInfo([bytes]);
    expect(whole?.deps).toEqual([{ path: 'golang.org/x/text', version: 'v0.3.7' }]);
    for (let cut = at - 1; cut <= at + 300; cut += 1) {
      expect(await readGoBuildInfo([bytes.subarray(0, cut), bytes.subarray(cut)])).toEqual(whole);
    }
    // Chunks shorter than the magic around it (a slow stream): 5-byte pieces across the header.
    const pieces = [bytes.subarray(0, at - 40)];
    for (let p = at - 40; p < at + 400; p += 5) pieces.push(bytes.subarray(p, Math.min(p + 5, at + 400)));
    pieces.push(bytes.subarray(at + 400));
    expect(await readGoBuildInfo(pieces)).toEqual(whole);
  });

  test('a Go binary without readable build info (pre-1.18 layout) is a coverage finding', async () => {
    const bytes = Buffer.from(readFileSync(app));
    const at = bytes.indexOf(Buffer.from('\xff Go buildinf:', 'latin1'));
    bytes[at + 15] = 0; // flags: pointers instead of inline strings, as Go < 1.18 wrote
    const r = await scan({ 'app/old': { content: bytes, mode: 0o755 } });
    expect(r.findings.map((f) => [f.kind, f.id, f.path])).toEqual([['coverage', 'PORTCULLIS-UNSCANNED-GO-BINARY', '/app/old']]);
  });

  test('not a Go binary: a non-executable copy and a script are not read as one', async () => {
    const r = await scan({ 'usr/share/doc/skopeo.bin': { content: readFileSync(SKOPEO), mode: 0o644 }, 'usr/bin/tool': { content: `#!/bin/sh\n${'x'.repeat(600 * 1024)}\n`, mode: 0o755 } });
    expect(r.findings).toEqual([]);
  });
});
