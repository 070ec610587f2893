/**
 * Issue 8.2 on the built service (`node dist/src/main.js`, API and worker in one process, the
 * real builtin scanner): a 1.8 MB-class gzip layer holding twelve 60 MiB files under
 * /var/lib/dpkg/status.d/ once grew the process to 4.4 GB and crashed it, again and again.
 * Now the scan fails with SCAN_LIMIT_EXCEEDED, once (not retried), while /healthz answers
 * throughout and the service process's peak RSS (VmHWM, read from /proc) stays under 1 GiB.
 */
import { buildImage, pushImage, sha256 } from '../../harness/images';
import { waitFor } from '../../harness/proc';
import { services, uniqueName } from '../../harness/services';
import { tagsOf } from '../../harness/tags';
import { hostileServiceConfig, processMemory, statusDBomb } from './hostile-fixtures';
import { logLines, startService } from './spawn-service';

const MiB = 1024 * 1024;
const GiB = 1024 * MiB;

describe('the dpkg status.d bomb against the running service', () => {
  const svc = services();

  it('fails the scan with SCAN_LIMIT_EXCEEDED once, /healthz alive throughout, peak RSS under 1 GiB', async () => {
    const layer = await statusDBomb();
    expect(layer.length).toBeLessThan(4 * MiB);
    const img = await buildImage({ layers: [{ files: {}, raw: layer }, { files: { 'etc/os-release': 'ID=debian\nVERSION_ID="12"\n' } }], config: { User: '1000' } });
    expect(img.layers[0]!.digest).toBe(sha256(layer));
    const repo = uniqueName('bomb');
    await pushImage(svc.upstream.url, repo, '1.0', img);

    const { config, port } = await hostileServiceConfig('bomb', 'info');
    const service = startService(config);
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
      expect(processMemory(service.child.pid!).peak).toBeLessThan(GiB);
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
