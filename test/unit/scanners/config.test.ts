import { scannersConfigSchema } from '../../../src/scanners/config';

describe('scanners config', () => {
  test('defaults to one builtin scanner with its limits', () => {
    expect(scannersConfigSchema.parse(undefined)).toEqual([
      { name: 'builtin', type: 'builtin', osvPath: '/var/lib/portcullis/osv', hardening: true, limits: {
        maxFileBytes: 2 * 1024 ** 3, maxTotalBytes: 16 * 1024 ** 3, maxEntries: 2_000_000, maxPackages: 200_000, maxMetadataBytes: 256 * 1024 ** 2, maxDatabaseEntries: 100_000,
      } },
    ]);
    const [b] = scannersConfigSchema.parse([{ name: 'b', type: 'builtin', osvPath: '/osv' }]);
    expect(b).toMatchObject({ hardening: true, limits: { maxFileBytes: 2 * 1024 ** 3, maxTotalBytes: 16 * 1024 ** 3 } });
  });

  test.each([
    [[{ name: 'x', type: 'trivy' }], [0, 'type']],
    [[{ name: 'b', type: 'builtin' }], [0, 'osvPath']],
    [[{ name: 'b', type: 'builtin', osvPath: '/o', extra: 1 }], [0]],
    [[{ name: 'b', type: 'builtin', osvPath: '/o' }, { name: 'b', type: 'builtin', osvPath: '/p' }], [1, 'name']],
  ])('%j is refused at %j', (input, path) => {
    const r = scannersConfigSchema.safeParse(input);
    expect(r.success).toBe(false);
    expect(r.error?.issues[0]?.path).toEqual(path);
  });
});
