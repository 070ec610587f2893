/**
 * npm packages from the real tarballs (`npm pack` of old lodash and minimist releases, laid out
 * as `npm install` does, one copy nested under another package), matched against the four real
 * GitHub-reviewed advisories of ../shared/realworld/osv/npm: one package with two `affected`
 * entries (minimist's 0.x and 1.x lines), a fix exactly at an installed version, CVSS v3.1
 * vectors scored into severities.
 */
import { cpSync, mkdtempSync, readdirSync, rmSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { BuiltinScanner } from '../../../src/scanners/builtin/adapter';
import type { ScanReport } from '../../../src/scanners/types';
import { buildImage, type ImageSpec } from '../../harness/images';
import { npmPack } from '../../harness/npm-pack';
import { realworld } from '../../harness/realworld';
import { MemoryRegistry } from '../../unit/scanners/builtin/memory-registry';

describe('npm packages from real tarballs against the real GHSA records', () => {
  let osv: string;
  let scanner: BuiltinScanner;
  const packs: Record<string, Record<string, Buffer>> = {};

  beforeAll(() => {
    osv = mkdtempSync(path.join(os.tmpdir(), 'pcs-osv-npm-'));
    for (const f of readdirSync(realworld('osv', 'npm'))) cpSync(realworld('osv', 'npm', f), path.join(osv, f));
    scanner = new BuiltinScanner({ name: 'builtin', osvPath: osv });
    const at = (spec: string, into: string) => (packs[`${spec} ${into}`] = npmPack(spec, into));
    at('lodash@4.17.20', 'app/node_modules/lodash');
    at('lodash@4.17.15', 'app/node_modules/legacy/node_modules/lodash');
    at('minimist@1.2.5', 'app/node_modules/minimist');
    at('minimist@0.0.8', 'app/node_modules/mkdirp/node_modules/minimist');
    at('minimist@1.2.6', 'srv/node_modules/minimist');
  }, 120_000);
  afterAll(() => rmSync(osv, { recursive: true, force: true }));

  async function scan(files: ImageSpec['layers'][number]['files']): Promise<ScanReport> {
    const img = await buildImage({ layers: [{ files }], config: { User: '1000' } });
    const registry = new MemoryRegistry().addImage(img);
    return scanner.scan({ registry, repository: 'q/npm', digest: img.digest, registryUrl: registry.url });
  }
  const rows = (r: ScanReport) => r.findings.map((f) => [f.kind, f.id, f.package, f.installedVersion, f.fixedVersion, f.severity, f.path]).sort();

  test('the tarballs are the real ones (the fixture is what the test assumes)', () => {
    const manifest = (key: string, at: string) => JSON.parse(packs[key]![`${at}/package.json`]!.toString('utf8')) as { name: string; version: string };
    expect(manifest('lodash@4.17.20 app/node_modules/lodash', 'app/node_modules/lodash')).toMatchObject({ name: 'lodash', version: '4.17.20' });
    expect(Object.keys(packs['lodash@4.17.20 app/node_modules/lodash']!).length).toBeGreaterThan(600);
    expect(manifest('minimist@0.0.8 app/node_modules/mkdirp/node_modules/minimist', 'app/node_modules/mkdirp/node_modules/minimist')).toMatchObject({ name: 'minimist', version: '0.0.8' });
  });

  test('exact findings: ids, fixed versions from the matching affected entry, severities; none for fixed-at and fixed versions', async () => {
    const r = await scan(Object.assign({}, ...Object.values(packs)) as Record<string, Buffer>);
    expect(r.status).toBe('succeeded');
    expect(rows(r)).toEqual([
      // 4.17.15: both lodash advisories; 4.17.20: only the command injection (the prototype pollution is fixed at 4.17.20).
      ['vulnerability', 'GHSA-35jh-r3h4-6jhm', 'lodash', '4.17.15', '4.17.21', 'high', '/app/node_modules/legacy/node_modules/lodash/package.json'],
      ['vulnerability', 'GHSA-35jh-r3h4-6jhm', 'lodash', '4.17.20', '4.17.21', 'high', '/app/node_modules/lodash/package.json'],
      ['vulnerability', 'GHSA-p6mc-m468-83gw', 'lodash', '4.17.15', '4.17.20', 'high', '/app/node_modules/legacy/node_modules/lodash/package.json'],
      // 0.0.8: both minimist advisories, each with the fix of its 0.x entry; 1.2.5: only the critical one (its 1.x
      // entry of GHSA-vh95 ends at 1.2.3); 1.2.6 (srv/): nothing.
      ['vulnerability', 'GHSA-vh95-rmgr-6w4m', 'minimist', '0.0.8', '0.2.1', 'medium', '/app/node_modules/mkdirp/node_modules/minimist/package.json'],
      ['vulnerability', 'GHSA-xvch-5gv4-984h', 'minimist', '0.0.8', '0.2.4', 'critical', '/app/node_modules/mkdirp/node_modules/minimist/package.json'],
      ['vulnerability', 'GHSA-xvch-5gv4-984h', 'minimist', '1.2.5', '1.2.6', 'critical', '/app/node_modules/minimist/package.json'],
    ]);
    expect(r.findings.find((f) => f.id === 'GHSA-xvch-5gv4-984h')).toMatchObject({
      aliases: ['CVE-2021-44906'], ecosystem: 'npm', cvss: { version: '3.1', vector: 'CVSS:3.1/AV:N/AC:L/PR:N/UI:N/S:U/C:H/I:H/A:H', score: 9.8 },
    });
    expect(r.findings.some((f) => f.path?.startsWith('/srv/'))).toBe(false);
    expect(r.summary).toMatchObject({ critical: 2, high: 3, medium: 1, low: 0, unknown: 0 });
  });
});
