/**
 * A second Portcullis process attaching SBOMs (test/integration/scanners/sbom-referrer-concurrency):
 * `node -r <ts hook> test/harness/sbom-attacher.ts <registryUrl> <redisUrl> <redisPrefix> <repository> <subjectDigest> <count> <label> <barrier>`
 * counts itself in at the Redis key `<barrier>:ready`, waits until `<barrier>:go` exists (so that
 * every writer starts at once, whatever each took to start), attaches `count` distinct SBOMs to
 * the subject at once with main.ts's Redis leases, and prints their artifact digests as one JSON line.
 */
import Redis from 'ioredis';
import { DistributionClient } from '../../src/registry/client';
import { attachSbom } from '../../src/scanners';
import { RedisStepLeases } from '../../src/store';

async function main(): Promise<void> {
  const [registryUrl, redisUrl, prefix, repository, subject, count, label, barrier] = process.argv.slice(2);
  if (!registryUrl || !redisUrl || !prefix || !repository || !subject || !count || !label || !barrier) throw new Error('usage: sbom-attacher.ts <registryUrl> <redisUrl> <prefix> <repository> <subject> <count> <label> <barrier>');
  const redis = new Redis(redisUrl);
  const client = new DistributionClient({ url: registryUrl });
  try {
    await redis.incr(`${barrier}:ready`);
    while (!(await redis.exists(`${barrier}:go`))) await new Promise((resolve) => setTimeout(resolve, 20));
    const locks = new RedisStepLeases(redis, prefix, { ttlMs: 30_000 });
    const sbom = (i: number): Buffer => Buffer.from(JSON.stringify({ bomFormat: 'CycloneDX', specVersion: '1.6', serialNumber: `urn:uuid:${label}-${i}`, components: [] }));
    const attached = await Promise.all(Array.from({ length: Number(count) }, (_, i) => attachSbom(client, repository, subject, sbom(i), new Date(0).toISOString(), { locks })));
    process.stdout.write(`${JSON.stringify(attached.map((a) => a.digest))}\n`);
  } finally {
    client.close();
    redis.disconnect();
  }
}

main().catch((err: unknown) => {
  process.stderr.write(`${err instanceof Error ? err.stack ?? err.message : String(err)}\n`);
  process.exit(1);
});
