/**
 * Prometheus metrics on real tools: the exposition of a process that ran a request through the
 * pipeline passes `promtool check metrics`, the shipped alert rules pass `promtool check rules`,
 * and a real Prometheus (Debian's package) scrapes the listener once, with its bearer token.
 * Also the delivery log's team isolation on the real Redis.
 */
import { spawn, spawnSync } from 'node:child_process';
import { writeFileSync } from 'node:fs';
import path from 'node:path';
import Redis from 'ioredis';
import YAML from 'yaml';
import { RedisDeliveryLog, startMetricsServer } from '../../../src/events';
import { startTestApp, type TestApp } from '../../harness/app';
import { buildImage, pushImage } from '../../harness/images';
import { freePort, tempDir, until, waitFor } from '../../harness/proc';
import { services, uniqueName } from '../../harness/services';

const RULES = path.resolve(__dirname, '../../../deploy/prometheus/portcullis-rules.yml');

describe('Prometheus metrics', () => {
  const svc = services();
  let app: TestApp;
  let url: string;
  let close: () => Promise<void>;
  const token = 'metrics-token-0123456789';

  beforeAll(async () => {
    app = await startTestApp();
    const repo = uniqueName('metrics');
    await pushImage(svc.upstream.url, repo, '1.0', await buildImage({ layers: [{ files: { 'etc/motd': 'm' } }] }));
    const created = await app.call('dev', 'POST', '/v1/requests', { image: `${svc.upstream.host}/${repo}:1.0`, team: 'payments', justification: 'metrics' });
    await app.waitForStatus(created.body.id, ['awaiting_approval']);
    const started = await startMetricsServer(app.services.metrics, { host: '127.0.0.1', port: 0, token });
    url = `http://127.0.0.1:${started.port}/metrics`;
    close = () => new Promise((resolve) => { started.server.close(() => resolve()); started.server.closeAllConnections(); });
  });
  afterAll(async () => {
    await close();
    await app.stop();
  });

  it('serves the exposition only with the token, and it passes promtool check metrics', async () => {
    expect((await fetch(url)).status).toBe(401);
    expect((await fetch(url, { headers: { authorization: 'Bearer wrong' } })).status).toBe(401);
    const res = await fetch(url, { headers: { authorization: `Bearer ${token}` } });
    expect(res.status).toBe(200);
    const body = await res.text();
    const scrape = async () => (await fetch(url, { headers: { authorization: `Bearer ${token}` } })).text();
    expect(body).toMatch(/^portcullis_requests_total\{team="payments",status="awaiting_approval"\} 1$/m);
    expect(body).toMatch(/^portcullis_pipeline_stage_duration_seconds_count\{stage="scan",outcome="ok"\} 1$/m);
    // The scan ran in the stage job (worker.scanAfterStage), timed as a step of its own.
    expect(body).toMatch(/^portcullis_pipeline_stage_duration_seconds_count\{stage="stage",outcome="ok"\} 1$/m);
    // The staged-blob memory is watched (no scanner here reads a blob: both are 0).
    expect(body).toMatch(/^portcullis_staged_blob_reads_total\{result="hit"\} \d+$/m);
    expect(body).toMatch(/^portcullis_staged_blob_bytes\{state="recording"\} 0$/m);
    expect(body).toMatch(/^bullmq_job_count\{queue="intake",state="active"\} \d+$/m);
    // The maintenance queue (health sweep, drift, snapshots, retention, unpublish) is counted too:
    // each of its job schedulers keeps one job there, not yet run (delayed) or being run.
    const schedulers = await until('the maintenance schedules', async () => {
      const all = await app.services.cleanup.queue.getJobSchedulers();
      return all.length >= 4 ? all.length : undefined;
    });
    const pending = (text: string) => ['waiting', 'prioritized', 'active', 'delayed'].reduce((sum, state) => {
      const m = new RegExp(`^bullmq_job_count\\{queue="maintenance",state="${state}"\\} (\\d+)$`, 'm').exec(text);
      return m ? sum + Number(m[1]) : Number.NaN;
    }, 0);
    await until('the maintenance queue counted', async () => pending(await scrape()) === schedulers || undefined);
    expect(body).toMatch(/^portcullis_build_info\{version="[^"]+",node_version="v20[^"]*"\} 1$/m);
    expect(body).not.toMatch(/sha256:|user=|image=/);
    expect(body).toMatch(/^portcullis_process_cpu_seconds_total \d/m);
    // promtool's only objection is the `_count` suffix of bullmq_job_count, BullMQ's own name for it (kept on purpose).
    const check = spawnSync('promtool', ['check', 'metrics'], { input: body });
    const problems = `${check.stdout.toString()}${check.stderr.toString()}`.split('\n').filter(Boolean);
    expect(problems).toEqual(['bullmq_job_count non-histogram and non-summary metrics should not have "_count" suffix']);
  });

  it('ships alert rules that promtool accepts', () => {
    const check = spawnSync('promtool', ['check', 'rules', RULES]);
    expect(check.stdout.toString()).toMatch(/SUCCESS: \d+ rules found/);
    expect(check.status).toBe(0);
  });

  it('is scraped by a real Prometheus', async () => {
    const dir = tempDir('prometheus');
    const port = await freePort();
    writeFileSync(path.join(dir, 'token'), token);
    writeFileSync(path.join(dir, 'prometheus.yml'), YAML.stringify({
      global: { scrape_interval: '1s', evaluation_interval: '1s' },
      rule_files: [RULES],
      scrape_configs: [{ job_name: 'portcullis', metrics_path: '/metrics', authorization: { credentials_file: path.join(dir, 'token') }, static_configs: [{ targets: [new URL(url).host] }] }],
    }));
    const prom = spawn('prometheus', [`--config.file=${path.join(dir, 'prometheus.yml')}`, `--storage.tsdb.path=${path.join(dir, 'data')}`,
      `--web.listen-address=127.0.0.1:${port}`], { stdio: 'ignore' });
    try {
      let value: string | undefined;
      await waitFor(async () => {
        const r = await fetch(`http://127.0.0.1:${port}/api/v1/query?query=${encodeURIComponent('portcullis_requests_total{status="awaiting_approval"}')}`);
        const j = (await r.json()) as { data: { result: Array<{ value: [number, string] }> } };
        value = j.data.result[0]?.value[1];
        return value !== undefined;
      }, 'Prometheus to scrape the metrics', 60000);
      expect(value).toBe('1');
      const up = (await (await fetch(`http://127.0.0.1:${port}/api/v1/query?query=up`)).json()) as { data: { result: Array<{ value: [number, string] }> } };
      expect(up.data.result.map((r) => r.value[1])).toEqual(['1']);
    } finally {
      prom.kill('SIGTERM');
    }
  });

  it('lists deliveries within the caller\'s teams; system events only with every team', async () => {
    const redis = new Redis(svc.redis.url);
    const log = new RedisDeliveryLog(redis, uniqueName('deliveries'));
    const rec = (id: string, team?: string) => log.record({ id, endpoint: 'e', type: 't', subject: 's', ...(team ? { team } : {}), attempt: 1, outcome: 'delivered', at: new Date().toISOString() });
    await rec('a1', 'a');
    await rec('b1', 'b');
    await rec('sys');
    await rec('a2', 'a');
    try {
      expect((await log.list({ teams: ['a'], limit: 10 })).items.map((r) => r.id)).toEqual(['a2', 'a1']);
      expect((await log.list({ teams: '*', limit: 10 })).items.map((r) => r.id)).toEqual(['a2', 'sys', 'b1', 'a1']);
      const first = await log.list({ teams: '*', limit: 2 });
      expect((await log.list({ teams: '*', limit: 2, before: first.next! })).items.map((r) => r.id)).toEqual(['b1', 'a1']);
    } finally {
      redis.disconnect();
    }
  });
});
