/**
 * `POST /v1/requests/{id}/code-scans` on real services: SARIF evidence before and after the
 * image scan, severities from `security-severity` and from `level`, grouping of large runs,
 * the JSON path of a broken log, the code-scan body limit, roles, teams, terminal states,
 * and the audit entry.
 */
import { createHash } from 'node:crypto';
import { readFileSync } from 'node:fs';
import path from 'node:path';
import type { Worker } from 'bullmq';
import { startTestApp, tokenOf, type TestApp, type Who } from '../../harness/app';
import { buildImage, pushImage } from '../../harness/images';
import { services, uniqueName } from '../../harness/services';
import { CodeScanService, INLINE_FINDINGS_LIMIT } from '../../../src/intake';
import { createLogger } from '../../../src/lib/logger';
import { identityFrom, startApi, startWorker, type Services } from '../../../src/main';
import { DEFAULT_CODE_SCAN_LIMITS } from '../../../src/scanners/sarif/config';
import { parseSarifText } from '../../../src/scanners/sarif/normalize';
import { RedisCodeScanStore, RedisRequestStore } from '../../../src/store';

const SARIF = path.join(__dirname, '../../fixtures/sarif');
const fixture = (name: string): unknown => JSON.parse(readFileSync(path.join(SARIF, name), 'utf8'));

/** A SARIF log of one run with `n` results over two rules (for the grouping of large runs). */
function manyResults(n: number): unknown {
  return {
    version: '2.1.0',
    runs: [{
      tool: { driver: { name: 'Bulk SAST', rules: [{ id: 'B1', properties: { 'security-severity': '9.5' } }, { id: 'B2' }] } },
      results: Array.from({ length: n }, (_, i) => ({
        ruleId: i % 10 === 0 ? 'B1' : 'B2', level: 'warning', message: { text: `issue ${i}` },
        locations: [{ physicalLocation: { artifactLocation: { uri: `src/f${i}.c` }, region: { startLine: i + 1 } } }],
      })),
    }],
  };
}

describe('code-scan evidence (SARIF) on a request', () => {
  const svc = services();
  const logger = createLogger({ level: 'silent' });
  let app: TestApp;
  let url: string;
  let stopApi: () => Promise<void>;
  let worker: Worker | undefined;
  let details: RedisCodeScanStore;

  /** POST to the API that has the code-scan service wired. */
  const post = async (who: Who, p: string, body: unknown, headers: Record<string, string> = {}) => {
    const res = await fetch(`${url}${p}`, {
      method: 'POST',
      headers: { authorization: `Bearer ${tokenOf(who)}`, 'content-type': 'application/json', ...headers },
      body: typeof body === 'string' ? body : JSON.stringify(body),
    });
    return { status: res.status, body: await res.json() as any };
  };

  beforeAll(async () => {
    app = await startTestApp({ worker: false, config: { server: { host: '127.0.0.1', port: 0, bodyLimit: '16kb', codeScanBodyLimit: '64kb' } } });
    // The harness runs main.ts's wiring, which does not build the code-scan service yet; a
    // second API on the same Redis prefix and event bus has it (see the report on main.ts).
    const prefix = app.config.redis.prefix;
    details = new RedisCodeScanStore(app.redis, prefix);
    // At most 8 logs per request here, so that the concurrent test below meets the bound.
    const codeScans = new CodeScanService({ requests: new RedisRequestStore(app.redis, prefix), details, events: app.services.events, limits: { ...DEFAULT_CODE_SCAN_LIMITS, maxUploadsPerRequest: 8 } });
    const wired: Services & { codeScans: CodeScanService } = Object.assign({}, app.services, { codeScans });
    const api = await startApi({ ...app.config, server: { ...app.config.server, port: 0 } }, logger, app.redis, wired, identityFrom(app.config, logger));
    url = `http://127.0.0.1:${api.port}`;
    stopApi = api.step.run;
  });
  afterAll(async () => {
    await worker?.close();
    await stopApi();
    await app.stop();
  });

  /** A request for an image of its own, so that no dedup joins two tests' requests. */
  const create = async (): Promise<string> => {
    const repo = uniqueName('sarif');
    await pushImage(svc.upstream.url, repo, 'v1', await buildImage({ layers: [{ files: { f: repo } }] }));
    const image = `${svc.upstream.host}/${repo}:v1`;
    const r = await app.call('dev', 'POST', '/v1/requests', { image, team: 'payments', justification: 'code scans' });
    expect(r.status).toBe(202);
    return r.body.id as string;
  };

  it('stores evidence before and after the image scan, with severities from security-severity and level; audited', async () => {
    const id = await create();
    const before = await post('dev', `/v1/requests/${id}/code-scans`, fixture('semgrep.sarif.json'));
    expect(before.status).toBe(201);
    expect(before.body.status).toBe('requested');
    const semgrep = before.body.codeScans[0];
    expect(semgrep).toMatchObject({
      tool: 'Semgrep OSS', toolVersion: '1.70.0', uploadedBy: 'dev', findingsTotal: 4, grouped: false,
      summary: { critical: 1, high: 1, medium: 2, low: 0, unknown: 0 },
    });
    expect(semgrep.findings.map((f: { id: string; severity: string; kind: string }) => [f.id, f.severity, f.kind])).toEqual([
      ['python.lang.security.audit.eval-detected', 'critical', 'code'], // rule security-severity 9.1 beats level warning
      ['python.flask.security.debug-enabled', 'high', 'code'], // no level: the rule's default, error
      ['python.lang.best-practice.open-never-closed', 'medium', 'code'], // result security-severity 5.0 beats level note
      ['python.flask.security.debug-enabled', 'medium', 'code'], // level warning
    ]);
    expect(semgrep.findings[0]).toMatchObject({ path: 'app/views.py:17', links: ['https://semgrep.dev/r/python.lang.security.audit.eval-detected'] });

    // The pipeline runs to awaiting_approval (no scanners) and keeps the evidence.
    worker = startWorker(app.config, logger, app.services).worker;
    const scanned = await app.waitForStatus(id, ['awaiting_approval', 'failed']);
    expect(scanned.status).toBe('awaiting_approval');
    expect(scanned.codeScans).toHaveLength(1);

    const after = await post('admin', `/v1/requests/${id}/code-scans`, fixture('codeql.sarif.json'));
    expect(after.status).toBe(201);
    const shown = (await app.call('dev', 'GET', `/v1/requests/${id}`)).body;
    expect(shown.codeScans.map((c: { tool: string; uploadedBy: string }) => [c.tool, c.uploadedBy])).toEqual([['Semgrep OSS', 'dev'], ['CodeQL', 'admin'], ['Black Duck', 'admin']]);
    const codeql = shown.codeScans[1];
    expect(codeql.findings.map((f: { id: string; severity: string }) => [f.id, f.severity])).toEqual([
      ['js/sql-injection', 'high'], ['js/unused-local-variable', 'low'], ['js/hardcoded-credentials', 'critical'],
    ]);
    expect(Date.parse(codeql.uploadedAt)).toBeGreaterThanOrEqual(Date.parse(shown.history.find((h: { status: string }) => h.status === 'awaiting_approval').at));

    const audit = (await app.call('auditor', 'GET', '/v1/audit?limit=1000')).body.items
      .filter((e: { action: string; target: string }) => e.action === 'code_scan.attached' && e.target === `request/${id}`);
    expect(audit.map((e: { actor: string; details: { tool: string; findings: number; status: string } }) => [e.actor, e.details.tool, e.details.findings, e.details.status])).toEqual([
      ['dev', 'Semgrep OSS', 4, 'requested'], ['admin', 'CodeQL', 3, 'awaiting_approval'], ['admin', 'Black Duck', 3, 'awaiting_approval'],
    ]);
    expect(audit[0].details).toMatchObject({ team: 'payments', codeScanId: semgrep.id, summary: semgrep.summary });

    // A terminal request takes no more evidence.
    expect((await app.call('approver', 'POST', `/v1/requests/${id}/reject`, { reason: 'eval on user input' })).status).toBe(200);
    const late = await post('dev', `/v1/requests/${id}/code-scans`, manyResults(3));
    expect(late.status).toBe(409);
    expect(late.body.error.code).toBe('INVALID_STATE');
    expect((await app.call('dev', 'GET', `/v1/requests/${id}`)).body.codeScans).toHaveLength(3);
  });

  it('keeps a large run grouped per rule and severity on the request, the full list beside it', async () => {
    const id = await create();
    const n = INLINE_FINDINGS_LIMIT + 50;
    const res = await post('dev', `/v1/requests/${id}/code-scans`, manyResults(n));
    expect(res.status).toBe(201);
    const scan = res.body.codeScans.at(-1);
    expect(scan).toMatchObject({ tool: 'Bulk SAST', grouped: true, findingsTotal: n, summary: { critical: n / 10, medium: n - n / 10 } });
    expect(scan.findings.map((f: { id: string; severity: string; title: string }) => [f.id, f.severity, f.title])).toEqual([
      ['B1', 'critical', `issue 0 (and ${n / 10 - 1} more locations)`], ['B2', 'medium', `issue 1 (and ${n - n / 10 - 1} more locations)`],
    ]);
    // The original log is kept once beside the request, under the sha256 of the bytes sent.
    const sent = JSON.stringify(manyResults(n));
    expect(res.body.upload).toEqual({ sha256: createHash('sha256').update(sent).digest('hex'), bytes: Buffer.byteLength(sent), runs: 1, alreadyAttached: false });
    expect(scan.upload).toEqual({ sha256: res.body.upload.sha256, bytes: Buffer.byteLength(sent), run: 0 });
    const original = await fetch(`${url}/v1/requests/${id}/code-scans/${scan.upload.sha256}`, { headers: { authorization: `Bearer ${tokenOf('approver')}` } });
    expect([original.status, original.headers.get('content-type')]).toEqual([200, 'application/sarif+json']);
    const full = parseSarifText(await original.text())[0].findings;
    expect(full).toHaveLength(n);
    expect(full[n - 1]).toMatchObject({ id: 'B2', path: `src/f${n - 1}.c:${n}` });
    expect((await details.getUpload(id, scan.upload.sha256))?.toString()).toBe(sent);
    const otherTeam = await fetch(`${url}/v1/requests/${id}/code-scans/${scan.upload.sha256}`, { headers: { authorization: `Bearer ${tokenOf('otherDev')}` } });
    expect(otherTeam.status).toBe(404);
  });

  it('takes the same log sent ten times at once as one upload: one entry, one audit record, one stored copy', async () => {
    const id = await create();
    const text = JSON.stringify(fixture('semgrep.sarif.json'));
    const answers = await Promise.all(Array.from({ length: 10 }, () => post('dev', `/v1/requests/${id}/code-scans`, text)));
    expect(answers.map((a) => a.status).sort()).toEqual([200, 200, 200, 200, 200, 200, 200, 200, 200, 201]);
    const sha = createHash('sha256').update(text).digest('hex');
    for (const a of answers) expect(a.body.upload).toEqual({ sha256: sha, bytes: text.length, runs: 1, alreadyAttached: a.status === 200 });
    const shown = (await app.call('dev', 'GET', `/v1/requests/${id}`)).body;
    expect(shown.codeScans).toHaveLength(1);
    const audit = (await app.call('auditor', 'GET', '/v1/audit?limit=1000')).body.items
      .filter((e: { action: string; target: string }) => e.action === 'code_scan.attached' && e.target === `request/${id}`);
    expect(audit).toHaveLength(1);
    expect(await app.redis.keys(`${app.config.redis.prefix}:code-scan:${id}:*`)).toEqual([`${app.config.redis.prefix}:code-scan:${id}:sarif:${sha}`]);
    // Later, once more: still one.
    const again = await post('dev', `/v1/requests/${id}/code-scans`, text);
    expect([again.status, again.body.upload.alreadyAttached, again.body.codeScans.length]).toEqual([200, true, 1]);
  });

  it('holds codeScans.maxUploadsPerRequest against twelve different logs at once, and keeps no copy of a refused one', async () => {
    const id = await create();
    const logs = Array.from({ length: 12 }, (_, i) => JSON.stringify(manyResults(i + 1)));
    const answers = await Promise.all(logs.map((l) => post('dev', `/v1/requests/${id}/code-scans`, l)));
    const kept = logs.filter((_, i) => answers[i].status === 201);
    expect(kept).toHaveLength(8);
    for (const a of answers.filter((x) => x.status !== 201)) {
      expect([a.status, a.body.error.code, a.body.error.details.limit, a.body.error.details.max]).toEqual([413, 'CODE_SCAN_TOO_LARGE', 'codeScans.maxUploadsPerRequest', 8]);
    }
    const shown = (await app.call('dev', 'GET', `/v1/requests/${id}`)).body.codeScans;
    const digests = kept.map((l) => createHash('sha256').update(l).digest('hex')).sort();
    expect(shown.map((c: { upload: { sha256: string } }) => c.upload.sha256).sort()).toEqual(digests);
    const stored = await app.redis.keys(`${app.config.redis.prefix}:code-scan:${id}:*`);
    expect(stored.map((k) => k.split(':').pop()).sort()).toEqual(digests);
  });

  it('takes a log sent as application/sarif+json, on this route only', async () => {
    const id = await create();
    const sarif = await post('dev', `/v1/requests/${id}/code-scans`, fixture('semgrep.sarif.json'), { 'content-type': 'application/sarif+json' });
    expect(sarif.status).toBe(201);
    expect(sarif.body.codeScans).toHaveLength(1);
    const elsewhere = await post('dev', '/v1/requests', { image: 'docker.io/library/x:1', team: 'payments', justification: 'j' }, { 'content-type': 'application/sarif+json' });
    expect([elsewhere.status, elsewhere.body.error.code]).toEqual([415, 'UNSUPPORTED_MEDIA_TYPE']);
  });

  it('refuses a broken log with the JSON path, an empty one, an oversized body, other roles and other teams', async () => {
    const id = await create();
    const broken = await post('dev', `/v1/requests/${id}/code-scans`, fixture('broken-message.sarif.json'));
    expect(broken.status).toBe(400);
    expect(broken.body.error).toMatchObject({ code: 'INVALID_SARIF', message: expect.stringContaining('runs[0].results[1].message'), details: { path: 'runs[0].results[1].message' } });
    const version = await post('dev', `/v1/requests/${id}/code-scans`, { version: '2.0.0', runs: [] });
    expect(version.body.error).toMatchObject({ code: 'INVALID_SARIF', details: { path: 'version' } });
    const empty = await post('dev', `/v1/requests/${id}/code-scans`, { version: '2.1.0', runs: [] });
    expect(empty.body.error).toMatchObject({ code: 'INVALID_SARIF', details: { path: 'runs' } });

    // 40 KiB passes on this route (above server.bodyLimit, 16 KiB), 100 KiB does not (codeScanBodyLimit, 64 KiB).
    const fits = manyResults(150);
    expect(JSON.stringify(fits).length).toBeGreaterThan(16 * 1024);
    expect((await post('dev', `/v1/requests/${id}/code-scans`, fits)).status).toBe(201);
    const big = await post('dev', `/v1/requests/${id}/code-scans`, manyResults(600));
    expect(big.status).toBe(413);
    expect(big.body.error.code).toBe('BODY_TOO_LARGE');

    const ci = await post('ci', `/v1/requests/${id}/code-scans`, fixture('semgrep.sarif.json'));
    expect([ci.status, ci.body.error.code]).toEqual([403, 'FORBIDDEN']);
    expect((await post('approver', `/v1/requests/${id}/code-scans`, fixture('semgrep.sarif.json'))).status).toBe(403);
    const other = await post('otherDev', `/v1/requests/${id}/code-scans`, fixture('semgrep.sarif.json'));
    expect([other.status, other.body.error.code]).toEqual([404, 'NOT_FOUND']);
    expect((await post('dev', '/v1/requests/no-such-request/code-scans', fixture('semgrep.sarif.json'))).status).toBe(404);

    const stored = (await app.call('dev', 'GET', `/v1/requests/${id}`)).body.codeScans;
    expect(stored.map((c: { tool: string; findingsTotal: number }) => [c.tool, c.findingsTotal])).toEqual([['Bulk SAST', 150]]);
  });
});
