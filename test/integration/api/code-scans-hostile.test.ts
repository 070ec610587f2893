/**
 * Hostile code-scan evidence against the built service process (issue 8.3): a 19 MB tool name,
 * 150,000 distinct rule ids (as rules and as results), 29 large uploads to one request, and
 * logs built to swell the request record. Each is refused with 413 `CODE_SCAN_TOO_LARGE` naming
 * its `codeScans.*` key, under the default configuration; the request list, the request, the
 * audit trail and /healthz keep answering 200; the record stays small (its stored size is read
 * from Redis); each log is stored once beside it; and the process's peak RSS stays under 1 GiB.
 */
import { createHash } from 'node:crypto';
import { readFileSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import Redis from 'ioredis';
import YAML from 'yaml';
import { buildImage, pushImage } from '../../harness/images';
import { freePort, tempDir, waitFor } from '../../harness/proc';
import { services, uniqueName } from '../../harness/services';
import { startService, type StartedService } from '../service/spawn-service';

const MiB = 1024 * 1024;
const TOKENS = { dev: 'pc_hostile_dev', auditor: 'pc_hostile_auditor' } as const;
const sha256 = (s: string | Buffer): string => createHash('sha256').update(s).digest('hex');

/** Peak resident set of a process so far (VmHWM), in bytes. */
function peakRss(pid: number): number {
  const m = /^VmHWM:\s+(\d+) kB$/m.exec(readFileSync(`/proc/${pid}/status`, 'utf8'));
  if (!m) throw new Error(`no VmHWM for ${pid}`);
  return Number(m[1]) * 1024;
}

const log = (runs: unknown[]): string => JSON.stringify({ version: '2.1.0', runs });

/** One run of `results` results over `rules` rules, ~`messageChars` per message: big on the wire, small once grouped. */
function bulk(tag: string, results: number, rules: number, messageChars: number): string {
  const pad = 'x'.repeat(messageChars);
  return log([{
    tool: { driver: { name: 'Bulk SAST', version: tag, rules: Array.from({ length: rules }, (_, i) => ({ id: `B${i}` })) } },
    results: Array.from({ length: results }, (_, i) => ({
      ruleId: `B${i % rules}`, level: 'warning', message: { text: `${tag} issue ${i} ${pad}` },
      locations: [{ physicalLocation: { artifactLocation: { uri: `src/module-${i % 97}/file-${i}.c` }, region: { startLine: i + 1 } } }],
    })),
  }]);
}

/** A run whose findings are all distinct and as long as the limits allow: what swells a record most. */
function swelling(tag: string): string {
  const results = 150;
  return log([{
    tool: { driver: { name: 'Wide SAST', version: tag } },
    results: Array.from({ length: results }, (_, i) => ({
      ruleId: `${tag}-${i}-${'r'.repeat(500)}`, level: 'error', message: { text: 'm'.repeat(16_000) },
      locations: [{ physicalLocation: { artifactLocation: { uri: `${'d/'.repeat(1000)}${i}.c` }, region: { startLine: 1 } } }],
    })),
  }]);
}

describe('hostile code-scan evidence against the service process', () => {
  const svc = services();
  let service: StartedService;
  let base: string;
  let redis: Redis;
  let prefix: string;

  const call = async (who: keyof typeof TOKENS, method: string, p: string, body?: string) => {
    const res = await fetch(`${base}${p}`, {
      method, body,
      headers: { authorization: `Bearer ${TOKENS[who]}`, ...(body === undefined ? {} : { 'content-type': 'application/sarif+json' }) },
    });
    const text = await res.text();
    return { status: res.status, body: JSON.parse(text) as any, bytes: text.length };
  };
  const upload = (id: string, body: string) => call('dev', 'POST', `/v1/requests/${id}/code-scans`, body);
  const alive = async () => { expect((await fetch(`${base}/healthz`)).status).toBe(200); };
  /** The request record's size as stored. */
  const storedBytes = async (id: string): Promise<number> => redis.hstrlen(`${prefix}:req:${id}`, 'json');

  const newRequest = async (): Promise<string> => {
    const repo = uniqueName('hostile');
    await pushImage(svc.upstream.url, repo, 'v1', await buildImage({ layers: [{ files: { f: repo } }] }));
    const res = await fetch(`${base}/v1/requests`, {
      method: 'POST', headers: { authorization: `Bearer ${TOKENS.dev}`, 'content-type': 'application/json' },
      body: JSON.stringify({ image: `${svc.upstream.host}/${repo}:v1`, team: 'payments', justification: 'hostile evidence' }),
    });
    expect(res.status).toBe(202);
    return ((await res.json()) as { id: string }).id;
  };

  beforeAll(async () => {
    const dir = tempDir('hostile-sarif');
    const tokensFile = path.join(dir, 'tokens.yaml');
    writeFileSync(tokensFile, YAML.stringify([
      { name: 'dev', roles: ['developer'], teams: ['payments'], tokenSha256: sha256(TOKENS.dev) },
      { name: 'auditor', roles: ['auditor'], teams: ['*'], tokenSha256: sha256(TOKENS.auditor) },
    ]));
    const port = await freePort();
    prefix = uniqueName('hostile');
    // Default limits throughout (server.codeScanBodyLimit 20mb, codeScans.*): what ships must hold.
    service = startService({
      server: { port },
      redis: { url: svc.redis.url, prefix },
      internalRegistry: { url: svc.internal.url },
      upstreams: [{ registry: svc.upstream.host, endpoint: svc.proxy.url }],
      auth: { tokensFile },
      scanners: [],
      log: { level: 'warn' },
    });
    base = `http://127.0.0.1:${port}`;
    await waitFor(async () => (await fetch(`${base}/healthz`)).ok, 'service', 30000);
    redis = new Redis(svc.redis.url);
  });
  afterAll(async () => {
    redis?.disconnect();
    service?.child.kill('SIGTERM');
    await service?.exited;
  });

  it('refuses each hostile log with a clear code, keeps every read answering and the record small, in bounded memory', async () => {
    const id = await newRequest();

    // A 19 MB tool name.
    const hugeName = log([{ tool: { driver: { name: 'T'.repeat(19 * MiB) } }, results: [] }]);
    const name = await upload(id, hugeName);
    expect([name.status, name.body.error.code]).toEqual([413, 'CODE_SCAN_TOO_LARGE']);
    expect(name.body.error.details).toEqual({ limit: 'codeScans.maxNameLength', max: 512, actual: 19 * MiB, path: 'runs[0].tool.driver.name' });
    expect(name.body.error.message).toContain('codeScans.maxNameLength');
    expect(name.bytes).toBeLessThan(1024); // the refusal does not echo the field
    await alive();

    // 150,000 distinct rule ids: declared as rules, and used by results without rules.
    const ids = Array.from({ length: 150_000 }, (_, i) => `rule-${i}`);
    const asRules = await upload(id, log([{ tool: { driver: { name: 'Many', rules: ids.map((r) => ({ id: r })) } }, results: [] }]));
    expect([asRules.status, asRules.body.error.code, asRules.body.error.details]).toEqual([413, 'CODE_SCAN_TOO_LARGE',
      { limit: 'codeScans.maxRulesPerRun', max: 5000, actual: 150_000, path: 'runs[0].tool.driver.rules' }]);
    // As results, 150,000 are over codeScans.maxResultsPerRun first; 40,000 results over distinct rules are over maxRulesPerRun.
    const asResults = await upload(id, log([{ tool: { driver: { name: 'Many' } }, results: ids.map((r) => ({ ruleId: r, message: { text: 'x' } })) }]));
    expect([asResults.status, asResults.body.error.code, asResults.body.error.details]).toEqual([413, 'CODE_SCAN_TOO_LARGE',
      { limit: 'codeScans.maxResultsPerRun', max: 50_000, actual: 150_000, path: 'runs[0].results' }]);
    const distinct = await upload(id, log([{ tool: { driver: { name: 'Many' } }, results: ids.slice(0, 40_000).map((r) => ({ ruleId: r, message: { text: 'x' } })) }]));
    expect([distinct.status, distinct.body.error.code, distinct.body.error.details]).toEqual([413, 'CODE_SCAN_TOO_LARGE',
      { limit: 'codeScans.maxRulesPerRun', max: 5000, actual: 5001, path: 'runs[0].results' }]);
    await alive();
    expect((await call('dev', 'GET', `/v1/requests/${id}`)).body.codeScans).toEqual([]);

    // 29 large uploads (about 1.7 MB each): the first 20 (codeScans.maxUploadsPerRequest) are kept, the rest refused.
    const statuses: Array<[number, string | undefined]> = [];
    const sent: string[] = [];
    for (let i = 0; i < 29; i++) {
      const body = bulk(`u${i}`, 3000, 5, 500);
      expect(body.length).toBeGreaterThan(1.5 * MiB);
      sent.push(body);
      const res = await upload(id, body);
      statuses.push([res.status, res.body.error?.details?.limit]);
    }
    expect(statuses).toEqual([...Array(20).fill([201, undefined]), ...Array(9).fill([413, 'codeScans.maxUploadsPerRequest'])]);
    await alive();

    // Every read still answers, and the record holds summaries only: 20 runs grouped into 5 findings each.
    const one = await call('dev', 'GET', `/v1/requests/${id}`);
    expect(one.status).toBe(200);
    expect(one.body.codeScans).toHaveLength(20);
    expect(one.body.codeScans.every((c: { grouped: boolean; findingsTotal: number; findings: unknown[] }) => c.grouped && c.findingsTotal === 3000 && c.findings.length === 5)).toBe(true);
    expect(await storedBytes(id)).toBeLessThan(128 * 1024);
    expect((await call('dev', 'GET', '/v1/requests?limit=50')).status).toBe(200);
    const audit = await call('auditor', 'GET', '/v1/audit?limit=1000');
    expect(audit.status).toBe(200);
    const attached = audit.body.items.filter((e: { action: string; target: string }) => e.action === 'code_scan.attached' && e.target === `request/${id}`);
    // One audit entry per kept run, each a summary with the sha256 of its upload, never the log.
    expect(attached.map((e: { details: { upload: { sha256: string } } }) => e.details.upload.sha256).sort()).toEqual(sent.slice(0, 20).map(sha256).sort());
    expect(Math.max(...attached.map((e: unknown) => JSON.stringify(e).length))).toBeLessThan(2048);
    // Each kept log is stored once, byte for byte, beside the request.
    const logKeys = await redis.keys(`${prefix}:code-scan:${id}:*`);
    expect(logKeys.sort()).toEqual(sent.slice(0, 20).map((s) => `${prefix}:code-scan:${id}:sarif:${sha256(s)}`).sort());
    expect((await redis.getBuffer(logKeys[0]))?.length).toBeGreaterThan(1.5 * MiB);

    // Logs built to swell the record (150 distinct 500-character rules, 2 KB paths, 16 KB messages
    // each) stop at codeScans.maxSummaryBytesPerRequest, with the record under it.
    const wide = await newRequest();
    const wideStatuses: Array<[number, string | undefined]> = [];
    for (let i = 0; i < 8; i++) {
      const res = await upload(wide, swelling(`w${i}`));
      wideStatuses.push([res.status, res.body.error?.details?.limit]);
    }
    const kept = wideStatuses.filter(([s]) => s === 201).length;
    expect(kept).toBeGreaterThan(0);
    expect(wideStatuses).toEqual([...Array(kept).fill([201, undefined]), ...Array(8 - kept).fill([413, 'codeScans.maxSummaryBytesPerRequest'])]);
    expect(kept).toBeLessThan(8);
    expect(await storedBytes(wide)).toBeLessThan(2 * MiB + 64 * 1024);
    expect((await call('dev', 'GET', `/v1/requests/${wide}`)).status).toBe(200);
    expect((await call('dev', 'GET', '/v1/requests?limit=50')).status).toBe(200);
    expect((await call('auditor', 'GET', '/v1/audit?limit=100')).status).toBe(200);
    await alive();

    const peak = peakRss(service.child.pid ?? -1);
    expect(peak).toBeLessThan(1024 * MiB);
    // For the report: the peak resident set of the service process over the whole run.
    process.stdout.write(`hostile SARIF: service peak RSS ${(peak / MiB).toFixed(0)} MiB\n`);
  });
});
