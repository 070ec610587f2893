/**
 * SARIF logs written by real tools (`../shared/realworld/sarif/`, read-only; see its README):
 * every valid log is accepted through the API and shows its tools and findings, with the counts
 * read from each file by hand; every broken one is refused with 400 naming the JSON path; and
 * the two judgement calls are decided as the README's "Code-scan evidence" says:
 * - `edge/codeql-with-invalid-uri.sarif` (valid but for the `uri` format) is accepted: a URI
 *   is shown as text, never followed, and refusing a real CodeQL log over a formatting slip
 *   would only push teams to upload no evidence. Its help URI is not made a link.
 * - `edge/gitleaks-baseline.sarif` (`runs: []`) is refused: it says that no tool ran, so it is
 *   evidence of nothing, and a 201 would let a CI step believe it attached evidence.
 */
import { createHash } from 'node:crypto';
import { readFileSync } from 'node:fs';
import path from 'node:path';
import { startTestApp, type TestApp } from '../../harness/app';
import { buildImage, pushImage } from '../../harness/images';
import { realworld } from '../../harness/realworld';
import { services, uniqueName } from '../../harness/services';

const SARIF = realworld('sarif');
const read = (name: string): string => readFileSync(path.join(SARIF, name), 'utf8');

type Sev = Partial<Record<'critical' | 'high' | 'medium' | 'low' | 'unknown', number>>;
/** Per file, per run: tool, version, findings, severities (by `security-severity`, else `level`), as read from the file. */
const VALID: Array<[string, Array<[string, string, number, Sev]>]> = [
  ['codeql-empty.sarif', [['LGTM.com', '1.24.0-SNAPSHOT', 0, {}]]],
  ['codeql-fingerprinting.sarif', [['CodeQL command-line toolchain', '2.0.0', 2, { medium: 2 }]]],
  ['codeql-fingerprinting2.sarif', [['CodeQL command-line toolchain', '2.0.0+202002031536', 1, { medium: 1 }]]],
  ['codeql-valid.sarif', [['LGTM.com', '1.24.0-SNAPSHOT', 1, { low: 1 }], ['CodeQL command-line toolchain', '2.0.0', 2, { low: 2 }]]],
  ['eslint.sarif', [['ESLint', '9.39.5', 7, { high: 6, medium: 1 }]]],
  ['gitleaks-simple.sarif', [['gitleaks', 'v8.0.0', 1, { medium: 1 }]]],
  ['grype-directory.sarif', [['grype', '0.0.0-dev', 2, { high: 2 }]]],
  ['grype-image.sarif', [['grype', '0.0.0-dev', 2, { high: 2 }]]],
  ['secretlint.sarif', [['secretlint', '1.0.0', 1, { high: 1 }]]],
  ['semgrep-include_nosemgrep.sarif', [['Semgrep OSS', 'placeholder', 2, { high: 2 }]]],
  ['semgrep-rule_board.sarif', [['Semgrep OSS', 'placeholder', 3, { high: 3 }]]],
  ['semgrep-when_errors.sarif', [['Semgrep OSS', 'placeholder', 0, {}]]],
  ['semgrep-with_autofix.sarif', [['Semgrep OSS', 'placeholder', 2, { high: 2 }]]],
  ['semgrep-with_dataflow_traces.sarif', [['Semgrep OSS', 'placeholder', 1, { medium: 1 }]]],
  ['semgrep-with_nosemgrep_and_error.sarif', [['Semgrep OSS', 'placeholder', 1, { high: 1 }]]],
  ['semgrep-with_source.sarif', [['Semgrep OSS', 'placeholder', 2, { high: 2 }]]],
  ['semgrep-with_source_edit.sarif', [['Semgrep OSS', 'placeholder', 2, { high: 2 }]]],
  ['trivy-alpine-310.sarif', [['Trivy', 'dev', 4, { medium: 4 }]]],
];

/** Per broken file: the JSON path the 400 must name (and, for a syntax error, where). */
const INVALID: Array<[string, Record<string, unknown>]> = [
  ['JSON1001.SyntaxError.sarif', { path: '$', line: 3, column: 3 }], // a stray "," where a property name belongs
  ['JSON1002.DeserializationError.sarif', { path: 'runs[0].results[0].stacks[0].frames' }], // a stack without frames
  ['codeql-results-not-array.sarif', { path: 'runs[0].results' }], // "results": 42
  // runs[3] has an empty tool name (no evidence names no tool), runs[4] a null one.
  ['codeql-tool-name-not-string.sarif', { path: 'runs[3].tool.driver.name', paths: ['runs[3].tool.driver.name', 'runs[4].tool.driver.name'] }],
];

const sum = (s: Sev) => ({ critical: 0, high: 0, medium: 0, low: 0, unknown: 0, ...s });

describe('SARIF logs from real tools', () => {
  const svc = services();
  let app: TestApp;
  let id: string;
  const post = (name: string) => app.call('dev', 'POST', `/v1/requests/${id}/code-scans`, read(name), { 'content-type': 'application/sarif+json' });

  beforeAll(async () => {
    app = await startTestApp({ worker: false });
    const repo = uniqueName('realsarif');
    await pushImage(svc.upstream.url, repo, 'v1', await buildImage({ layers: [{ files: { f: repo } }] }));
    const r = await app.call('dev', 'POST', '/v1/requests', { image: `${svc.upstream.host}/${repo}:v1`, team: 'payments', justification: 'real SARIF' });
    expect(r.status).toBe(202);
    id = r.body.id;
  });
  afterAll(async () => { await app.stop(); });

  it.each(VALID)('accepts valid/%s and shows its tools and findings', async (file, runs) => {
    const res = await post(`valid/${file}`);
    expect(res.status).toBe(201);
    const sha256 = createHash('sha256').update(read(`valid/${file}`)).digest('hex');
    expect(res.body.upload).toMatchObject({ sha256, runs: runs.length, alreadyAttached: false });
    const shown = (await app.call('approver', 'GET', `/v1/requests/${id}`)).body.codeScans
      .filter((c: { upload: { sha256: string } }) => c.upload.sha256 === sha256);
    expect(shown.map((c: { tool: string; toolVersion: string; findingsTotal: number; summary: Sev }) => [c.tool, c.toolVersion, c.findingsTotal, c.summary]))
      .toEqual(runs.map(([tool, version, n, sev]) => [tool, version, n, sum(sev)]));
    expect(shown.map((c: { findings: unknown[] }) => c.findings.length)).toEqual(runs.map(([, , n]) => n));
  });

  it('shows every valid log on the request, one entry per run', async () => {
    const all = (await app.call('dev', 'GET', `/v1/requests/${id}`)).body.codeScans;
    expect(all).toHaveLength(VALID.reduce((n, [, runs]) => n + runs.length, 0));
  });

  it.each(INVALID)('refuses invalid/%s with 400 naming the JSON path', async (file, where) => {
    const before = (await app.call('dev', 'GET', `/v1/requests/${id}`)).body.codeScans.length;
    const res = await post(`invalid/${file}`);
    expect([res.status, res.body.error.code]).toEqual([400, 'INVALID_SARIF']);
    expect(res.body.error.details).toMatchObject(where);
    expect(res.body.error.message).toContain(` at ${where.path as string}`);
    expect((await app.call('dev', 'GET', `/v1/requests/${id}`)).body.codeScans).toHaveLength(before);
  });

  it('accepts edge/codeql-with-invalid-uri.sarif, showing the uri as text and making no link of it', async () => {
    const res = await post('edge/codeql-with-invalid-uri.sarif');
    expect(res.status).toBe(201);
    const entry = res.body.codeScans.at(-1);
    expect([entry.tool, entry.findingsTotal]).toEqual(['LGTM.com', 1]);
    expect(entry.findings[0]).toMatchObject({ id: 'js/unused-local-variable', path: 'not a valid URI:2', links: [], title: 'Unused variable foo.' });
  });

  it('refuses edge/gitleaks-baseline.sarif (runs: []): evidence of nothing', async () => {
    const res = await post('edge/gitleaks-baseline.sarif');
    expect([res.status, res.body.error.code, res.body.error.details.path]).toEqual([400, 'INVALID_SARIF', 'runs']);
    expect(res.body.error.message).toContain('evidence of nothing');
  });
});
