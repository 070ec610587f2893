/**
 * Issue 8.2 on the built service (`node dist/src/main.js`, API and worker in one process, the
 * real builtin scanner): a 1.8 MB-class gzip layer holding twelve 60 MiB files under
 * /var/lib/dpkg/status.d/ once grew the process to 4.4 GB and crashed it, again and again.
 * Now the scan fails with SCAN_LIMIT_EXCEEDED, once (not retried), while /healthz answers
 * throughout and the service process's peak RSS (VmHWM, read from /proc) stays under 1 GiB.
 */
import { readFileSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import YAML from 'yaml';
import { sha256Hex } from '../../../src/lib/identity/tokens-file';
import { buildImage, pushImage, sha256 } from '../../harness/images';
import { freePort, tempDir, waitFor } from '../../harness/proc';
import { services, uniqueName } from '../../harness/services';
import { tagsOf } from '../../harness/tags';
import { privateOsvDb } from '../flow/scan-fixtures';
import { statusDBomb } from './hostile-fixtures';
import { logLines, startService } from './spawn-service';

const MiB = 1024 * 1024;
const GiB = 1024 * MiB;

function peakRss(pid: number): number {
  const kb = /VmHWM:\s+(\d+) kB/.exec(readFileSync(`/proc/${pid}/status`, 'utf8'))?.[1];
  if (!kb) throw new Error('no VmHWM');
  return Number(kb) * 1024;
}

describe('the dpkg status.d bomb against the running service', () => {
  const svc = services();

  it('fails the scan with SCAN_LIMIT_EXCEEDED once, /healthz alive throughout, peak RSS under 1 GiB', async () => {
    const layer = await statusDBomb();
    expect(layer.length).toBeLessThan(4 * MiB);
    const img = await buildImage({ layers: [{ files: {}, raw: layer }, { files: { 'etc/os-release': 'ID=debian\nVERSION_ID="12"\n' } }], config: { User: '1000' } });
    expect(img.layers[0]!.digest).toBe(sha256(layer));
    const repo = uniqueName('bomb');
    await pushImage(svc.upstream.url, repo, '1.0', img);

    const dir = tempDir('bomb');
    const tokensFile = path.join(dir, 'tokens.yaml');
    writeFileSync(tokensFile, YAML.stringify({ principals: [
      { name: 'dev', roles: ['developer'], teams: ['payments'], tokenSha256: sha256Hex('token-dev') },
      { name: 'auditor', roles: ['auditor'], teams: [], tokenSha256: sha256Hex('token-auditor') },
    ] }));
    const port = await freePort();
    const service = startService({
      server: { host: '127.0.0.1', port },
      redis: { url: svc.redis.url, prefix: uniqueName('bomb') },
      internalRegistry: { url: svc.internal.url },
      upstreams: [{ registry: svc.upstream.host, endpoint: svc.proxy.url }],
      auth: { tokensFile },
      worker: { lockDurationMs: 5000, stalledIntervalMs: 1000 },
      scanners: [{ name: 'builtin', type: 'builtin', osvPath: privateOsvDb() }],
      policy: { onFail: 'reject' },
      log: { level: 'info' },
    });
    const base = `http://127.0.0.1:${port}`;
    try {
      await waitFor(async () => (await fetch(`${base}/healthz`).catch(() => null))?.ok === true, 'healthz', 30000);
      const created = await fetch(`${base}/v1/requests`, {
        method: 'POST', headers: { authorization: 'Bearer token-dev', 'content-type': 'application/json' },
        body: JSON.stringify({ image: `${svc.upstream.host}/${repo}:1.0`, team: 'payments', justification: 'bomb' }),
      });
      expect(created.status).toBe(202);
      const { id } = (await created.json()) as { id: string };
      let request: any;
      let healthChecks = 0;
      for (let i = 0; i < 1200; i += 1) {
        // Every poll also proves the process is alive and its event loop answers.
        const health = await fetch(`${base}/healthz`);
        expect(health.status).toBe(200);
        healthChecks += 1;
        request = await (await fetch(`${base}/v1/requests/${id}`, { headers: { authorization: 'Bearer token-auditor' } })).json();
        if (request.status === 'failed' || request.status === 'awaiting_approval') break;
        await new Promise((r) => setTimeout(r, 100));
      }
      expect(healthChecks).toBeGreaterThan(1);
      expect(request.status).toBe('failed');
      expect(request.scans[0].error).toMatchObject({ code: 'SCAN_LIMIT_EXCEEDED' });
      expect(request.history.map((h: { status: string }) => h.status)).toEqual(['requested', 'resolving', 'staging', 'scanning', 'failed']);
      expect((await fetch(`${base}/healthz`)).status).toBe(200);
      expect(peakRss(service.child.pid!)).toBeLessThan(GiB);
      expect(await tagsOf(svc.internal.url, `approved/payments/${svc.upstream.host.replace(':', '_')}/${repo}`)).toEqual([]);
      // Scanned once: a failure that is the image's own is not retried into another scan.
      const scans = logLines(service).filter((l) => l.message === 'scanned' && l.digest === img.digest);
      expect(scans).toHaveLength(1);
      expect(scans[0]).toMatchObject({ status: 'failed' });
    } finally {
      service.child.kill('SIGTERM');
      await service.exited;
    }
  });
});
