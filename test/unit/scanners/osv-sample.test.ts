import path from 'node:path';
import { BuiltinScanner } from '../../../src/scanners/builtin/adapter';
import { buildDemoImage } from '../../../scripts/demo-image';
import { MemoryRegistry } from './builtin/memory-registry';

test('the shipped sample OSV database finds what its README promises in the demo image', async () => {
  const img = await buildDemoImage();
  const registry = new MemoryRegistry().addImage(img);
  const scanner = new BuiltinScanner({ name: 'builtin', osvPath: path.join(__dirname, '../../../config/osv-sample') });
  await scanner.check();
  const r = await scanner.scan({ registry, repository: 'quarantine/hello', digest: img.digest, registryUrl: registry.url });
  expect(r.findings.map((f) => [f.id, f.package, f.severity, f.fixedVersion ?? null]).sort()).toEqual([
    ['PCS-DEMO-2024-0001', 'zlib1g', 'critical', '1:1.2.13.dfsg-1+deb12u1'],
    ['PCS-DEMO-2024-0003', 'base-files', 'low', null],
  ]);
});
