/**
 * The matching form kept beside each SBOM (RedisInventoryStore.put) gives the packages the SBOM
 * text gives, on the real Redis: put derives it from the SBOM object toStored serialized
 * (issue 17: no parse of the JSON just written on the scan's path), and a record that did not
 * come from toStored (read back, copied) from its text, as before.
 */
import Redis from 'ioredis';
import { platformInventories, RedisInventoryStore, type StoredInventory } from '../../../src/monitor/inventory-store';
import type { ScannedInventory } from '../../../src/scanners/builtin/adapter';
import { services, uniqueName } from '../../harness/services';

const layer = (c: string): string => `sha256:${c.repeat(64)}`;

/** Two platforms, a shared layer, optional fields present and absent, and text JSON escapes. */
function inventory(digest: string): ScannedInventory {
  const shared = [
    { name: 'lodash', version: '4.17.20', ecosystem: 'npm', path: '/app/node_modules/lodash/package.json', layer: layer('3') },
    { name: 'naïve-"quoted"\\name', version: '1.0.0-β\u2028', ecosystem: 'npm', path: '/app/node_modules/x/package.json' },
  ];
  return {
    scanner: 'builtin', digest, repository: 'quarantine/docker.io/library/app', scannedAt: '2026-12-01T10:00:00.000Z', dbVersion: 'osv-1',
    images: [
      { manifestDigest: layer('a'), platform: 'linux/amd64', coverage: [], hardening: [], packages: [
        ...shared, { name: 'libssl3', version: '3.0.11-1~deb12u1', ecosystem: 'Debian:12', sourceName: 'openssl', sourceVersion: '3.0.11-1~deb12u1', path: '/var/lib/dpkg/status', layer: layer('1') },
      ] },
      { manifestDigest: layer('b'), platform: 'linux/arm64', coverage: [], hardening: [], packages: [
        ...shared, { name: 'musl', version: '1:1.2.4-r2', ecosystem: 'Alpine:v3.19', sourceName: 'musl', path: '/lib/apk/db/installed', layer: layer('2') },
      ] },
    ],
  };
}

describe('inventory store: the matching form', () => {
  let redis: Redis;
  beforeAll(() => { redis = new Redis(services().redis.url); });
  afterAll(() => { redis.disconnect(); });

  /** What the SBOM text alone gives (a record read back from Redis is only text). */
  const fromText = (stored: StoredInventory) => platformInventories(JSON.parse(JSON.stringify(stored)) as StoredInventory);

  it('put of a record toStored made keeps the packages its SBOM text gives', async () => {
    const store = new RedisInventoryStore(redis, uniqueName('inv'), { registryHost: 'registry.internal:5000' });
    const stored = store.toStored(inventory(layer('f')));
    expect(await store.put(stored)).toBe(true);
    const [kept] = await store.platforms('builtin', [stored.digest]);
    expect(kept).toEqual(fromText(stored));
    expect(kept?.map((i) => i.packages.length)).toEqual([3, 3]);
  });

  it('put of a record not made by toStored (a copy) derives the matching form from its text', async () => {
    const store = new RedisInventoryStore(redis, uniqueName('inv'), { registryHost: 'registry.internal:5000' });
    const stored = { ...store.toStored(inventory(layer('e'))) };
    expect(await store.put(stored)).toBe(true);
    const [kept] = await store.platforms('builtin', [stored.digest]);
    expect(kept).toEqual(fromText(stored));
  });
});
