/**
 * Stand-in written from Clair's published OpenAPI document (quay/clair
 * `httptransport/api/v1/openapi.yaml`, API version 1.2.0), because the real service cannot
 * run here (it needs PostgreSQL and its vulnerability feeds). Test-only, loopback only.
 *
 * Implements:
 * - `POST /indexer/api/v1/index_report`: validates the Manifest as the spec's schema says
 *   (400 "bogus manifest" without hash or layers), really fetches every layer `uri` from the
 *   registry with exactly the `headers` given, checks each blob's sha256 against its `hash`,
 *   reads dpkg status and os-release, and answers 201 with an IndexReport: `IndexFinished`,
 *   or `state: IndexError, success: false, err` on a wrong URI, a refused fetch or a digest
 *   mismatch (the documented behaviour: "the error will be propagated inside the IndexReport").
 * - `GET /indexer/api/v1/index_report/{digest}`, `GET /indexer/api/v1/index_state`.
 * - `GET /matcher/api/v1/vulnerability_report/{digest}`: 202 while "not initialized"
 *   (`matcherNotReady` answers), 404 when not indexed, else 201 with a VulnerabilityReport
 *   (packages, distributions, environments, vulnerabilities, package_vulnerabilities and a
 *   clair.cvss enrichment) derived from the fixture table.
 * - `GET /matcher/api/v1/internal/update_operation` (internal in the spec): one updater.
 * - The notifier (./clair-notifier.ts): webhook deliveries, `GET`/`DELETE /notifier/api/v1/notification/{id}`.
 * - PSK auth when `psk` is set: an HS256 JWT (checked with node:crypto, independently of
 *   the adapter's signer) whose `iss` is allowed, `exp`/`nbf` with 15 s leeway, as Clair's
 *   middleware/auth/httpauth_psk.go checks it; else 401.
 */
import { createServer, type IncomingMessage, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { createHmac, timingSafeEqual } from 'node:crypto';
import { z } from 'zod';
import { StandinNotifier } from './clair-notifier';
import { FIXTURE_ADVISORIES, fetchVerified, installedPackages, matches, type FixtureAdvisory, type InstalledPackage } from './content';

const digest = z.string().regex(/^sha256:[a-f0-9]{64}$/);
const manifestSchema = z.strictObject({
  hash: digest,
  layers: z.array(z.strictObject({
    hash: digest,
    uri: z.string(),
    headers: z.record(z.string().regex(/^[a-zA-Z0-9\-_]+$/), z.array(z.string())).optional(),
    media_type: z.string().regex(/^application\/vnd\.oci\.image\.layer\.v1\.tar(\+(gzip|zstd))?$/).optional(),
  })).optional(),
});

export interface ClairStandinOptions {
  fixtures?: FixtureAdvisory[];
  /** Base64 PSK; requests then need a valid JWT. */
  psk?: string;
  issuers?: string[];
  /** How many vulnerability_report requests answer 202 before the matcher is "initialized". */
  matcherNotReady?: number;
  /**
   * Real reports to serve instead of ones computed from the fixtures (parsed JSON of
   * quay's and claircore's test data in ../shared/realworld/clair/): the index report after
   * the layers were really fetched, and the vulnerability report; `manifest_hash` is set to
   * the digest asked for, everything else is served as the real Clair wrote it.
   */
  real?: { indexReport?: Record<string, unknown>; vulnerabilityReport?: Record<string, unknown> };
}

interface Indexed {
  report: Record<string, unknown> & { state: string };
  packages: InstalledPackage[];
  os?: { id?: string; versionId?: string };
}

export interface ClairStandin {
  url: string;
  /** The notifier (./clair-notifier.ts): webhook deliveries and the notification API. */
  notifier: StandinNotifier;
  /** New vulnerability data: from now on the matcher serves this report (its `manifest_hash` set to the digest asked for). */
  setVulnerabilityReport(report: Record<string, unknown> | undefined): void;
  /**
   * Faults, until set back: `notifier` answers the notification's pages with 503 (the
   * callback unreachable behind a load balancer), `matcher` the vulnerability reports (all, or
   * those of the digests listed) with 500.
   */
  setFaults(faults: { notifier?: boolean; matcher?: boolean | string[] }): void;
  /** What happened, in order (`index <digest> <state>`, `matcher 202`, …), for assertions. */
  events: string[];
  close(): Promise<void>;
}

function json(res: ServerResponse, status: number, body: unknown, headers: Record<string, string> = {}): void {
  res.writeHead(status, { 'content-type': 'application/json', ...headers });
  res.end(JSON.stringify(body));
}

async function readBody(req: IncomingMessage): Promise<string> {
  const chunks: Buffer[] = [];
  for await (const c of req) chunks.push(c as Buffer);
  return Buffer.concat(chunks).toString('utf8');
}

function vulnerabilityReport(hash: string, entry: Indexed, fixtures: FixtureAdvisory[]): Record<string, unknown> {
  const packages: Record<string, unknown> = {};
  const environments: Record<string, unknown> = {};
  const vulnerabilities: Record<string, unknown> = {};
  const packageVulnerabilities: Record<string, string[]> = {};
  const cvss: Record<string, unknown[]> = {};
  const distributions = entry.os?.id ? { '1': { id: '1', did: entry.os.id, name: entry.os.id, version_id: entry.os.versionId ?? '' } } : {};
  entry.packages.forEach((p, i) => {
    const pid = String(100 + i);
    packages[pid] = { id: pid, name: p.name, version: p.version, kind: 'binary', source: null };
    environments[pid] = [{ package_db: 'var/lib/dpkg/status', introduced_in: p.layer, ...(entry.os?.id ? { distribution_id: '1' } : {}) }];
    for (const f of matches(fixtures, p)) {
      const vid = String(1000 + Object.keys(vulnerabilities).length);
      vulnerabilities[vid] = {
        id: vid, updater: 'standin-debian', name: f.id, description: f.description, links: f.links.join(' '),
        severity: f.severity, normalized_severity: f.severity, fixed_in_version: f.fixedIn ?? '',
        package: { id: pid, name: p.name, version: '', kind: 'binary' }, arch_op: 'equals',
      };
      (packageVulnerabilities[pid] ??= []).push(vid);
      if (f.cvssV3) cvss[vid] = [{ version: '3.1', vectorString: f.cvssV3, baseScore: 0 }];
    }
  });
  return {
    manifest_hash: hash, packages, distributions, repository: {}, environments, vulnerabilities,
    package_vulnerabilities: packageVulnerabilities,
    enrichments: { 'message/vnd.clair.map.vulnerability; enricher=clair.cvss schema=https://csrc.nist.gov/schema/nvd/api/2.0/cve_api_json_2.0.schema': [cvss] },
  };
}

async function index(manifest: z.infer<typeof manifestSchema>, real: ClairStandinOptions['real']): Promise<Indexed> {
  const base = { manifest_hash: manifest.hash, packages: {}, distributions: {}, repository: {}, environments: {} };
  try {
    const blobs = [];
    for (const layer of manifest.layers ?? []) {
      const headers: Record<string, string> = {};
      for (const [k, values] of Object.entries(layer.headers ?? {})) headers[k] = values.join(', ');
      blobs.push({ digest: layer.hash, blob: await fetchVerified(layer.uri, headers, layer.hash) });
    }
    const { packages, os } = await installedPackages(blobs);
    if (real?.indexReport) return { report: { ...real.indexReport, manifest_hash: manifest.hash, state: 'IndexFinished', success: true }, packages, os };
    return { report: { ...base, state: 'IndexFinished', success: true, err: '' }, packages, os };
  } catch (err) {
    return { report: { ...base, state: 'IndexError', success: false, err: (err as Error).message }, packages: [] };
  }
}

export async function startClairStandin(options: ClairStandinOptions = {}): Promise<ClairStandin> {
  const fixtures = options.fixtures ?? FIXTURE_ADVISORIES;
  const store = new Map<string, Indexed>();
  const events: string[] = [];
  let notReady = options.matcherNotReady ?? 0;
  const key = options.psk ? Buffer.from(options.psk, 'base64') : undefined;
  let base = '';
  const notifier = new StandinNotifier(() => base, events);
  let realReport = options.real?.vulnerabilityReport;
  let faults: { notifier?: boolean; matcher?: boolean | string[] } = {};

  async function authorized(req: IncomingMessage): Promise<boolean> {
    if (!key) return true;
    const m = /^Bearer ([\w-]+)\.([\w-]+)\.([\w-]+)$/.exec(req.headers.authorization ?? '');
    if (!m) return false;
    const header = JSON.parse(Buffer.from(m[1], 'base64url').toString('utf8')) as { alg?: string };
    if (header.alg !== 'HS256') return false;
    const want = createHmac('sha256', key).update(`${m[1]}.${m[2]}`).digest();
    const got = Buffer.from(m[3], 'base64url');
    if (got.length !== want.length || !timingSafeEqual(got, want)) return false;
    const claims = JSON.parse(Buffer.from(m[2], 'base64url').toString('utf8')) as { iss?: string; exp?: number; nbf?: number };
    const now = Date.now() / 1000;
    if ((claims.exp !== undefined && now > claims.exp + 15) || (claims.nbf !== undefined && now < claims.nbf - 15)) return false;
    return (options.issuers ?? []).includes(claims.iss ?? '');
  }

  async function handle(req: IncomingMessage, res: ServerResponse): Promise<void> {
    const url = new URL(req.url ?? '/', 'http://x');
    const path = url.pathname;
    if (!(await authorized(req))) { events.push('unauthorized'); return json(res, 401, { code: 'unauthorized', message: 'unauthorized' }); }
    if (faults.notifier && req.method === 'GET' && path.startsWith('/notifier/')) { events.push(`notifier 503 ${path.split('/').pop() ?? ''}`); return json(res, 503, { code: 'unavailable', message: 'notifier unavailable' }); }
    if (notifier.handle(req, res, url)) return;
    if (req.method === 'POST' && path === '/indexer/api/v1/index_report') {
      const type = (req.headers['content-type'] ?? '').split(';')[0].trim();
      if (type !== 'application/json' && type !== 'application/vnd.clair.manifest.v1+json') return json(res, 415, { code: 'unsupported-media-type', message: type });
      const parsed = manifestSchema.safeParse(JSON.parse(await readBody(req) || 'null'));
      if (!parsed.success || !parsed.data.layers?.length) return json(res, 400, { code: 'bad-request', message: 'bogus manifest' });
      const done = await index(parsed.data, options.real);
      store.set(parsed.data.hash, done);
      events.push(`index ${parsed.data.hash} ${done.report.state}`);
      return json(res, 201, done.report, { location: `/indexer/api/v1/index_report/${parsed.data.hash}` });
    }
    let m = /^\/indexer\/api\/v1\/index_report\/(sha256:[a-f0-9]{64})$/.exec(path);
    if (req.method === 'GET' && m) {
      const entry = store.get(m[1]);
      return entry ? json(res, 200, entry.report) : json(res, 404, { code: 'not-found', message: 'index report not found' });
    }
    if (req.method === 'GET' && path === '/indexer/api/v1/index_state') return json(res, 200, { state: 'standin-indexer-1' }, { etag: '"standin-indexer-1"' });
    m = /^\/matcher\/api\/v1\/vulnerability_report\/(sha256:[a-f0-9]{64})$/.exec(path);
    if (req.method === 'GET' && m) {
      if (faults.matcher === true || (Array.isArray(faults.matcher) && faults.matcher.includes(m[1]))) { events.push(`matcher 500 ${m[1]}`); return json(res, 500, { code: 'internal', message: 'matcher failed' }); }
      if (notReady > 0) { notReady -= 1; events.push('matcher 202'); res.writeHead(202); return void res.end(); }
      const entry = store.get(m[1]);
      if (!entry) { events.push('matcher 404'); return json(res, 404, { code: 'not-found', message: `index report for manifest "${m[1]}" not found` }); }
      events.push('matcher 201');
      return json(res, 201, realReport ? { ...realReport, manifest_hash: m[1] } : vulnerabilityReport(m[1], entry, fixtures));
    }
    if (req.method === 'GET' && path === '/matcher/api/v1/internal/update_operation') {
      return json(res, 200, { 'standin-debian': [{ ref: '2b1f4a4e-0b3c-4c41-9d8e-3f6e1f1b2c3d', updater: 'standin-debian', fingerprint: 'x', date: '2024-01-01T00:00:00Z', kind: 'vulnerability' }] });
    }
    json(res, 404, { code: 'not-found', message: `no route ${req.method} ${path}` });
  }

  const server = createServer((req, res) => {
    handle(req, res).catch((err: Error) => json(res, 500, { code: 'internal', message: err.message }));
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as AddressInfo;
  base = `http://127.0.0.1:${port}`;
  return {
    url: base,
    events,
    notifier,
    setVulnerabilityReport: (report) => { realReport = report; },
    setFaults: (f) => { faults = { ...f }; },
    close: () => new Promise<void>((resolve) => { server.closeAllConnections(); server.close(() => resolve()); }),
  };
}
