/**
 * A Clair notification is applied while a slow Harbor rescan runs (issue 13.2), on the real
 * service (redis, docker-registry, nginx) with the Clair and Harbor stand-ins (written from
 * their published APIs). The monitor queue runs one job at a time (syncs, rescans); the
 * notification has its own queue, so it never waits behind them. The rescan is held by the
 * Harbor stand-in (its report polls answer 302, the scan still running) for as long as the test
 * wants: the notification is read, applied and deleted while the rescan job is still active.
 */
import { readFileSync } from 'node:fs';
import path from 'node:path';
import { createLogger } from '../../../src/lib/logger';
import { ClairScanner, clairScannerConfigSchema } from '../../../src/scanners/clair';
import { HarborScanner, harborScannerConfigSchema } from '../../../src/scanners/harbor';
import { RedisScanResultStore } from '../../../src/store';
import { RESCAN_JOB } from '../../../queue/rescan';
import { startTestApp, type TestApp } from '../../harness/app';
import { pushImage } from '../../harness/images';
import { services, uniqueName } from '../../harness/services';
import { startClairStandin, type ClairStandin } from '../scanners/standins/clair';
import { startHarborStandin, type HarborStandin } from '../scanners/standins/harbor';
import { debianImage } from '../scanners/standins/fixtures';
import { approveImage, until } from './fixtures';

const svc = services();
const PSK = Buffer.from('notifier test pre-shared key 32b').toString('base64');
const REAL = JSON.parse(readFileSync(path.join(__dirname, '../../fixtures/clair/vulnerabilityreport_withenrichments.json'), 'utf8')) as Record<string, unknown>;
const logger = createLogger({ level: 'silent' });

describe('Clair notifications beside a long monitor job', () => {
  let clair: ClairStandin;
  let harbor: HarborStandin;
  let app: TestApp;
  let digest: string;

  beforeAll(async () => {
    clair = await startClairStandin({ psk: PSK, issuers: ['portcullis'], fixtures: [] });
    harbor = await startHarborStandin({ fixtures: [] });
    const clairEntry = { name: 'clair', type: 'clair', url: clair.url, psk: PSK, pollIntervalMs: 100 };
    const harborEntry = { name: 'harbor', type: 'harbor', url: harbor.url, pollIntervalMs: 100 };
    app = await startTestApp({
      scanners: [
        new ClairScanner(clairScannerConfigSchema.parse(clairEntry), { registryAuthorization: async () => undefined, logger }),
        new HarborScanner(harborScannerConfigSchema.parse(harborEntry), { registryAuthorization: async () => undefined, logger }),
      ],
      config: { scanners: [clairEntry, harborEntry] },
    });
    const repo = uniqueName('clair-beside-rescan');
    await pushImage(svc.upstream.url, repo, '1', await debianImage('amd64', { 'etc/which': repo }));
    digest = (await approveImage(app, `${svc.upstream.host}/${repo}:1`)).digest;
    // The test runs the rescan itself: the app's schedule is stopped, and the next run covers a whole period (every digest due).
    await app.services.monitorQueue.queue.removeJobScheduler(RESCAN_JOB);
    await app.redis.set(`${app.config.redis.prefix}:rescan:last:harbor`, String(Date.now() - app.config.monitor.rescanEvery));
  });

  afterAll(async () => {
    harbor?.hold(false);
    await app?.stop();
    await clair?.close();
    await harbor?.close();
  });

  it('applies and deletes a notification while a Harbor rescan run is still going on the monitor queue', async () => {
    harbor.hold(true);
    const scansBefore = harbor.events.filter((e) => e === `scan ${digest}`).length;
    const rescan = await app.services.monitorQueue.queue.add(RESCAN_JOB, {}, { jobId: uniqueName('slow-rescan') });
    // The rescan has asked Harbor for the digest and is waiting for its report.
    await until('the rescan waiting on Harbor', () => (harbor.events.filter((e) => e === `scan ${digest}`).length > scansBefore && harbor.events.includes('report 302 held') ? true : undefined));
    expect(await rescan.getState()).toBe('active');

    clair.setVulnerabilityReport(REAL);
    const delivery = await clair.notifier.notify({ target: `${app.url}/hooks/clair`, sign: PSK, manifests: [digest] });
    expect(delivery.statuses).toEqual([200]);
    await until('the notification deleted', () => (clair.events.includes(`notification delete ${delivery.id}`) ? true : undefined));
    const report = await new RedisScanResultStore(app.redis, app.config.redis.prefix).get('clair', digest);
    expect(report?.findings.filter((f) => f.kind === 'vulnerability').length).toBeGreaterThan(5);
    // All that while, the rescan never ended: still active, still polling a held report.
    expect(await rescan.getState()).toBe('active');
    const held = harbor.events.filter((e) => e === 'report 302 held').length;
    await until('one more held poll', () => (harbor.events.filter((e) => e === 'report 302 held').length > held ? true : undefined));

    harbor.hold(false);
    await until('the rescan finished', async () => ((await app.services.monitorQueue.queue.getJob(rescan.id ?? ''))?.finishedOn ? true : undefined));
    expect(harbor.events.at(-1)).toBe('report 200');
  });
});
