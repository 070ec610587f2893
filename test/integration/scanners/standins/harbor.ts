/**
 * Stand-in written from Harbor's Pluggable Scanner API document (goharbor/pluggable-scanner-spec
 * `api/spec/scanner-adapter-openapi-v1.2.yaml`, API version 1.2), because no real scanner
 * adapter (Trivy, Anchore…) can run here. Test-only, loopback only.
 *
 * Implements:
 * - `GET /api/v1/metadata`: one vulnerability capability consuming the OCI and Docker image
 *   manifest types and producing `application/vnd.security.vulnerability.report; version=1.1`,
 *   with the vulnerability-database-updated-at property.
 * - `POST /api/v1/scan` (`application/vnd.scanner.adapter.scan.request+json; version=1.1`):
 *   validates the ScanRequest, answers 202 `{id}`, and in the background pulls the artifact
 *   from `registry.url` with exactly `registry.authorization` as the Authorization header:
 *   the manifest (checked against `artifact.digest`) and every layer (each checked against
 *   its digest), then reads dpkg status.
 * - `GET /api/v1/scan/{id}/report` with Accept of the v1.1 report: 302 while the job runs and
 *   for the first `pendingPolls` polls, then 200 with a
 *   HarborVulnerabilityReport (fixture advisories of what it read, `layer.digest` as the
 *   Trivy adapter adds it), or 500 with an ErrorResponse when the pull failed; 501 for
 *   another Accept; 404 for an unknown id.
 * - When `authorization` is set, every request must carry it (the spec's security schemes).
 *
 * Where the real Harbor Trivy adapter (goharbor/harbor-scanner-trivy) differs from the
 * document, the stand-in does what the real one does (../shared/realworld/README.md): its 302
 * carries `Location` pointing at the same URL and no `Refresh-After` (one is sent only when a
 * test sets `refreshAfter`), and errors use `application/vnd.scanner.adapter.error;
 * version=1.0`, without `+json`.
 */
import { randomUUID } from 'node:crypto';
import { createServer, type IncomingMessage, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { z } from 'zod';
import { FIXTURE_ADVISORIES, fetchVerified, installedPackages, matches, type FixtureAdvisory } from './content';

const REPORT_TYPE = 'application/vnd.security.vulnerability.report; version=1.1';
const MANIFEST_TYPES = ['application/vnd.oci.image.manifest.v1+json', 'application/vnd.docker.distribution.manifest.v2+json'];

const scanRequestSchema = z.object({
  registry: z.object({ url: z.string().url(), authorization: z.string().optional() }),
  artifact: z.object({ repository: z.string().min(1), digest: z.string().regex(/^sha256:[a-f0-9]{64}$/), mime_type: z.string().optional() }),
  enabled_capabilities: z.array(z.object({ type: z.string(), produces_mime_types: z.array(z.string()).optional() })).optional(),
});

export interface HarborStandinOptions {
  fixtures?: FixtureAdvisory[];
  /** Required Authorization header value on the adapter API. */
  authorization?: string;
  /** 302 answers per scan before the report is served (it is also 302 while the job runs). */
  pendingPolls?: number;
  /** A `Refresh-After` header value sent with each 302; none by default, as the real Trivy adapter. */
  refreshAfter?: string;
}

interface Job {
  done: Promise<void>;
  polls: number;
  report?: unknown;
  error?: string;
}

export interface HarborStandin {
  url: string;
  events: string[];
  /** While held, every report poll answers 302 (the scan still running): a scan as slow as the test wants. */
  hold(held: boolean): void;
  close(): Promise<void>;
}

function json(res: ServerResponse, status: number, body: unknown, type: string, headers: Record<string, string> = {}): void {
  res.writeHead(status, { 'content-type': type, ...headers });
  res.end(JSON.stringify(body));
}

function error(res: ServerResponse, status: number, message: string): void {
  json(res, status, { error: { message } }, 'application/vnd.scanner.adapter.error; version=1.0');
}

async function pull(request: z.infer<typeof scanRequestSchema>, fixtures: FixtureAdvisory[]): Promise<unknown> {
  const base = request.registry.url.replace(/\/+$/, '');
  const { repository, digest } = request.artifact;
  const auth: Record<string, string> = request.registry.authorization ? { authorization: request.registry.authorization } : {};
  const manifestBytes = await fetchVerified(`${base}/v2/${repository}/manifests/${digest}`, { ...auth, accept: MANIFEST_TYPES.join(', ') }, digest);
  const manifest = JSON.parse(manifestBytes.toString('utf8')) as { layers?: Array<{ digest: string }> };
  const blobs = [];
  for (const l of manifest.layers ?? []) blobs.push({ digest: l.digest, blob: await fetchVerified(`${base}/v2/${repository}/blobs/${l.digest}`, auth, l.digest) });
  const { packages } = await installedPackages(blobs);
  const vulnerabilities = packages.flatMap((p) => matches(fixtures, p).map((f) => ({
    id: f.id, package: p.name, version: p.version, ...(f.fixedIn ? { fix_version: f.fixedIn } : {}), severity: f.severity,
    description: f.description, links: f.links, layer: { digest: p.layer },
    ...(f.cvssV3 ? { preferred_cvss: { vector_v3: f.cvssV3 } } : {}),
  })));
  return {
    generated_at: new Date().toISOString(),
    artifact: { repository, digest, mime_type: request.artifact.mime_type },
    scanner: { name: 'Standin', vendor: 'Portcullis tests', version: '1.0.0' },
    severity: 'Unknown',
    vulnerabilities,
  };
}

export async function startHarborStandin(options: HarborStandinOptions = {}): Promise<HarborStandin> {
  const fixtures = options.fixtures ?? FIXTURE_ADVISORIES;
  const jobs = new Map<string, Job>();
  const events: string[] = [];
  let held = false;

  async function handle(req: IncomingMessage, res: ServerResponse): Promise<void> {
    const path = new URL(req.url ?? '/', 'http://x').pathname;
    if (options.authorization && req.headers.authorization !== options.authorization) return error(res, 401, 'unauthorized');
    if (req.method === 'GET' && path === '/api/v1/metadata') {
      return json(res, 200, {
        scanner: { name: 'Standin', vendor: 'Portcullis tests', version: '1.0.0' },
        capabilities: [{ type: 'vulnerability', consumes_mime_types: MANIFEST_TYPES, produces_mime_types: [REPORT_TYPE] }],
        properties: { 'harbor.scanner-adapter/vulnerability-database-updated-at': '2024-01-01T00:00:00Z' },
      }, 'application/vnd.scanner.adapter.metadata+json; version=1.1');
    }
    if (req.method === 'POST' && path === '/api/v1/scan') {
      if (!(req.headers['content-type'] ?? '').startsWith('application/vnd.scanner.adapter.scan.request+json')) return error(res, 400, 'unexpected content type');
      const chunks: Buffer[] = [];
      for await (const c of req) chunks.push(c as Buffer);
      const parsed = scanRequestSchema.safeParse(JSON.parse(Buffer.concat(chunks).toString('utf8') || 'null'));
      if (!parsed.success) return error(res, 422, `invalid scan request: ${parsed.error.issues[0].path.join('.')}`);
      const id = randomUUID();
      const job: Job = { polls: 0, done: Promise.resolve() };
      job.done = pull(parsed.data, fixtures).then((r) => { job.report = r; }, (err: Error) => { job.error = err.message; });
      jobs.set(id, job);
      events.push(`scan ${parsed.data.artifact.digest}`);
      return json(res, 202, { id }, 'application/vnd.scanner.adapter.scan.response+json; version=1.0');
    }
    const m = /^\/api\/v1\/scan\/([^/]+)\/report$/.exec(path);
    if (req.method === 'GET' && m) {
      const job = jobs.get(m[1]);
      if (!job) { res.writeHead(404); return void res.end(); }
      if ((req.headers.accept ?? '').replace(/\s/g, '') !== REPORT_TYPE.replace(/\s/g, '')) return error(res, 501, 'unsupported report mime type');
      // Decide only once the job has ended, so the number of 302s is deterministic.
      await job.done;
      if (held) {
        events.push('report 302 held');
        res.writeHead(302, { location: `http://${req.headers.host ?? '127.0.0.1'}${req.url ?? path}` });
        return void res.end();
      }
      if (job.polls < (options.pendingPolls ?? 0)) {
        job.polls += 1;
        events.push('report 302');
        // The real adapter's Location is the request's own URL: a client that follows it loops.
        res.writeHead(302, { location: `http://${req.headers.host ?? '127.0.0.1'}${req.url ?? path}`, ...(options.refreshAfter !== undefined ? { 'refresh-after': options.refreshAfter } : {}) });
        return void res.end();
      }
      if (job.error) { events.push('report 500'); return error(res, 500, job.error); }
      events.push('report 200');
      return json(res, 200, job.report, REPORT_TYPE);
    }
    error(res, 404, `no route ${req.method} ${path}`);
  }

  const server = createServer((req, res) => {
    handle(req, res).catch((err: Error) => error(res, 500, err.message));
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as AddressInfo;
  return {
    url: `http://127.0.0.1:${port}`,
    events,
    hold: (on) => { held = on; },
    close: () => new Promise<void>((resolve) => { server.closeAllConnections(); server.close(() => resolve()); }),
  };
}
