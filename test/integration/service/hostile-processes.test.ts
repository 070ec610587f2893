/**
 * Issue 8's hostile images against the service as it is deployed: an API process and a worker
 * process, both `node dist/src/main.js`, the real builtin scanner. Four pushes, requested one
 * after the other: an index whose vulnerable runnable child is labelled as an attestation, one
 * whose vulnerable child hides behind a foreign descriptor media type, an index listing one
 * vulnerable child 20,000 times, and the dpkg status.d bomb. While they go through, a watcher
 * asks the API's /healthz every 200 ms and reads the worker's RSS (VmRSS, /proc) as often:
 * every request ends with its clear code and nothing under approved/, no health check ever
 * failed, and the worker's RSS (and its peak, VmHWM) stayed under 1 GiB.
 */
import { buildImage, customIndex, pushImage, pushManifest, type BuiltImage, type BuiltIndex } from '../../harness/images';
import { waitFor } from '../../harness/proc';
import { services, uniqueName } from '../../harness/services';
import { tagsOf } from '../../harness/tags';
import { ADVISORY, buildVulnerableImage } from '../flow/scan-fixtures';
import { hostileServiceConfig, processMemory, statusDBomb } from './hostile-fixtures';
import { startService, type StartedService } from './spawn-service';

const GiB = 1024 * 1024 * 1024;
const svc = services();
const hostPath = svc.upstream.host.replace(':', '_');

/** /healthz every 200 ms and the worker's RSS as often, until stopped. */
function watch(base: string, workerPid: number) {
  const seen = { checks: 0, failures: [] as string[], maxRss: 0 };
  let running = true;
  const loop = (async () => {
    while (running) {
      const started = Date.now();
      const res = await fetch(`${base}/healthz`, { signal: AbortSignal.timeout(5000) }).catch((err: Error) => err);
      seen.checks += 1;
      if (res instanceof Error || res.status !== 200) seen.failures.push(res instanceof Error ? res.message : `status ${res.status}`);
      else await res.arrayBuffer();
      seen.maxRss = Math.max(seen.maxRss, processMemory(workerPid).rss);
      await new Promise((r) => setTimeout(r, Math.max(0, 200 - (Date.now() - started))));
    }
  })();
  return { seen, stop: async () => { running = false; await loop; } };
}

describe('hostile images against the API and a worker as separate processes', () => {
  let api: StartedService;
  let worker: StartedService;
  let base: string;

  beforeAll(async () => {
    const { config, port } = await hostileServiceConfig('hostile-procs', 'warn');
    api = startService(config, ['--role', 'api']);
    worker = startService(config, ['--role', 'worker']);
    base = `http://127.0.0.1:${port}`;
    await waitFor(async () => (await fetch(`${base}/healthz`).catch(() => null))?.ok === true, 'the API to answer /healthz', 30_000);
  });
  afterAll(async () => {
    for (const s of [api, worker]) s.child.kill('SIGTERM');
    await Promise.all([api.exited, worker.exited]);
  });

  it('ends each with its clear code, nothing approved, /healthz never failing and the worker under 1 GiB', async () => {
    const vulnerable = await buildVulnerableImage();
    const clean = await buildImage({ layers: [{ files: { 'etc/motd': 'clean arm64\n' } }], config: { User: '1000' }, architecture: 'arm64' });
    const entry = (img: BuiltImage, extra: object = {}): object => ({ mediaType: img.mediaType, digest: img.digest, size: img.manifest.length, platform: img.platform, ...extra });
    const pushIndex = async (repo: string, idx: BuiltIndex): Promise<void> => {
      for (const img of idx.images) await pushImage(svc.upstream.url, repo, undefined, img);
      await pushManifest(svc.upstream.url, repo, '1.0', idx.manifest, idx.mediaType);
    };
    const bomb = await buildImage({ layers: [{ files: {}, raw: await statusDBomb() }, { files: { 'etc/os-release': 'ID=debian\nVERSION_ID="12"\n' } }], config: { User: '1000' } });

    const cases: Array<{ what: string; repo: string; push(repo: string): Promise<void>; code: string }> = [
      { what: 'annotated runnable child', repo: uniqueName('h-annotated'), code: 'POLICY_FAILED', push: (repo) => pushIndex(repo, customIndex([entry(clean), entry(vulnerable, {
        annotations: { 'vnd.docker.reference.type': 'attestation-manifest', 'vnd.docker.reference.digest': `sha256:${'0'.repeat(64)}` } })], [clean, vulnerable])) },
      { what: 'foreign descriptor media type', repo: uniqueName('h-foreign'), code: 'POLICY_FAILED', push: (repo) => pushIndex(repo, customIndex([entry(clean), entry(vulnerable, { mediaType: 'application/vnd.example.not-an-image+json' })], [clean, vulnerable])) },
      { what: '20,000 identical children', repo: uniqueName('h-repeated'), code: 'POLICY_FAILED', push: (repo) => pushIndex(repo, customIndex(Array.from({ length: 20_000 }, () => entry(vulnerable)), [vulnerable])) },
      { what: 'dpkg status.d bomb', repo: uniqueName('h-bomb'), code: 'SCAN_LIMIT_EXCEEDED', push: (repo) => pushImage(svc.upstream.url, repo, '1.0', bomb) },
    ];
    for (const c of cases) await c.push(c.repo);

    const watcher = watch(base, worker.child.pid!);
    const outcomes: Array<{ what: string; status: string; code: string | undefined; findings: string[] }> = [];
    try {
      for (const c of cases) {
        const created = await fetch(`${base}/v1/requests`, {
          method: 'POST', headers: { authorization: 'Bearer token-dev', 'content-type': 'application/json' },
          body: JSON.stringify({ image: `${svc.upstream.host}/${c.repo}:1.0`, team: 'payments', justification: c.what }),
        });
        expect(created.status).toBe(202);
        const { id } = (await created.json()) as { id: string };
        let r: any;
        await waitFor(async () => {
          r = await (await fetch(`${base}/v1/requests/${id}`, { headers: { authorization: 'Bearer token-auditor' } })).json();
          return ['failed', 'rejected', 'awaiting_approval', 'approved'].includes(r.status);
        }, `${c.what} to finish`, 300_000);
        // The request's own error code, or the scan's (a scan that hit a limit fails the request through it).
        const codes: string[] = [r.error?.code, ...(r.scans ?? []).map((s: { error?: { code: string } }) => s.error?.code)].filter(Boolean);
        outcomes.push({
          what: c.what, status: r.status, code: codes.includes(c.code) ? c.code : codes.join(',') || undefined,
          findings: (r.scans ?? []).flatMap((s: { findings?: Array<{ id: string }> }) => (s.findings ?? []).map((f) => f.id)).filter((f: string) => f === ADVISORY),
        });
        expect(await tagsOf(svc.internal.url, `approved/payments/${hostPath}/${c.repo}`)).toEqual([]);
        // At least one health check after each request's end, however fast it went (no timing assumed).
        const checked = watcher.seen.checks;
        await waitFor(async () => watcher.seen.checks > checked, 'a health check after the request', 30_000);
      }
    } finally {
      await watcher.stop();
    }
    expect(outcomes.map((o) => [o.what, o.status, o.code])).toEqual(cases.map((c) => [c.what, 'failed', c.code]));
    // The three disguised indexes were refused on the vulnerable child's finding, found once each.
    expect(outcomes.slice(0, 3).map((o) => o.findings)).toEqual([[ADVISORY], [ADVISORY], [ADVISORY]]);
    expect(watcher.seen.failures).toEqual([]);
    expect(watcher.seen.checks).toBeGreaterThan(cases.length);
    expect(watcher.seen.maxRss).toBeGreaterThan(0);
    expect(watcher.seen.maxRss).toBeLessThan(GiB);
    expect(processMemory(worker.child.pid!).peak).toBeLessThan(GiB);
    // Neither process died on the way.
    expect(api.child.exitCode).toBeNull();
    expect(worker.child.exitCode).toBeNull();
  }, 900_000);
});
