/**
 * `portcullis vulndb sync`: from a fixture folder and from an OSV `all.zip` served by a
 * loopback HTTP server (the zip built here), the summary it prints, a failing sync that keeps
 * the old data, usage errors, and one run as a real process whose `--to` comes from the
 * configuration's builtin scanner.
 */
import { capture } from '../../harness/capture';
import { existsSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import path from 'node:path';
import YAML from 'yaml';
import { run } from '../../../src/cli/vulndb';
import { OsvDatabase } from '../../../src/scanners/osv/database';
import { fingerprint } from '../../../src/scanners/osv/loader';
import { tempDir } from '../../harness/proc';
import { services } from '../../harness/services';
import { runCli } from '../../harness/worker-process';
import { storedZip } from '../../harness/zip';

const FIXTURES = path.join(__dirname, '../../fixtures/osv/db');

const record = (id: string, ecosystem: string, name: string, fixed: string) => JSON.stringify({
  id, modified: '2024-05-01T00:00:00Z', summary: `${name} before ${fixed}`,
  database_specific: { severity: 'HIGH' },
  affected: [{ package: { ecosystem, name }, ranges: [{ type: 'SEMVER', events: [{ introduced: '0' }, { fixed }] }] }],
});

/** An OSV export as osv.dev publishes it: one JSON record per entry (plus a stray file). */
const ALL_ZIP = storedZip({
  'RUSTSEC-2024-0001.json': record('RUSTSEC-2024-0001', 'crates.io', 'smallvec', '1.13.2'),
  'GHSA-test-zip1-0002.json': record('GHSA-test-zip1-0002', 'npm', 'left-pad', '1.3.1'),
  'README.txt': 'not a record',
});


describe('portcullis vulndb sync', () => {
  let server: Server;
  let base: string;

  beforeAll(async () => {
    server = createServer((req, res) => {
      if (req.url === '/crates.io/all.zip') res.writeHead(200, { 'content-type': 'application/zip', 'content-length': ALL_ZIP.length }).end(ALL_ZIP);
      else if (req.url === '/broken/all.zip') res.writeHead(200, { 'content-type': 'application/zip' }).end('PK but not really a zip');
      else res.writeHead(404).end();
    });
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    base = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
  });
  afterAll(() => new Promise<void>((resolve) => server.close(() => resolve())));

  test('from a fixture folder: plain progress lines without a TTY, then records, ecosystems and dbVersion', async () => {
    const to = path.join(tempDir('vulndb'), 'osv');
    const r = await capture(() => run(['sync', '--from', FIXTURES, '--to', to]));
    expect(r.code).toBe(0);
    const loaded = await OsvDatabase.load(to);
    const [synced, ecosystems, version] = r.out.trimEnd().split('\n');
    expect(synced).toMatch(new RegExp(`^synced ${loaded.loadStats.records} records \\(11 files, \\d+\\.\\d MiB\\) into ${to}$`));
    expect(ecosystems).toBe('ecosystems: Alpine:v3.20, Debian:11, Debian:12, PyPI, npm');
    expect(version).toBe(`dbVersion: ${await fingerprint(to)}`);
    expect(r.err).toContain('fetched Debian/DSA-5532-1.json (0.0 MiB)\n');
    expect(r.err.trimEnd().split('\n')).toHaveLength(11);
  });

  test('from a URL on a loopback server: the all.zip lands under its ecosystem and the scanner can read it', async () => {
    const to = path.join(tempDir('vulndb'), 'osv');
    const r = await capture(() => run(['sync', '--from', `${base}/crates.io/all.zip`, '--to', to]));
    expect(r).toMatchObject({ code: 0, err: `fetched crates.io/all.zip (0.0 MiB)\n` });
    expect(r.out).toContain('synced 2 records (1 files, 0.0 MiB)');
    expect(r.out).toContain('ecosystems: crates.io, npm\n');
    expect(readFileSync(path.join(to, 'crates.io/all.zip'))).toEqual(ALL_ZIP);
    const db = await OsvDatabase.load(to);
    expect(db.findingsFor({ name: 'left-pad', version: '1.3.0', ecosystem: 'npm', path: 'p' }).map((f) => [f.id, f.fixedVersion])).toEqual([['GHSA-test-zip1-0002', '1.3.1']]);
  });

  test('on a TTY: a progress bar redrawn in place, ending at 100% with a newline', async () => {
    const to = path.join(tempDir('vulndb'), 'osv');
    const was = Object.getOwnPropertyDescriptor(process.stderr, 'isTTY');
    Object.defineProperty(process.stderr, 'isTTY', { value: true, configurable: true });
    try {
      const r = await capture(() => run(['sync', '--from', `${base}/crates.io/all.zip`, '--to', to]));
      expect(r.code).toBe(0);
      expect(r.err).toMatch(/^\r\[#{30}\] 100% 0\.0\/0\.0 MiB {2}crates\.io\/all\.zip\n$/);
      expect(r.out).toContain('synced 2 records');
    } finally {
      if (was) Object.defineProperty(process.stderr, 'isTTY', was);
      else delete (process.stderr as { isTTY?: boolean }).isTTY;
    }
  });

  test.each([
    ['a 404', '/gone/all.zip', 'SCANNER_UNAVAILABLE: OSV download http://127.0.0.1:PORT/gone/all.zip answered HTTP 404'],
    ['a file that is not a zip', '/broken/all.zip', 'SCANNER_UNAVAILABLE: OSV export all.zip cannot be read'],
  ])('%s: exit 1 with one clear line, no stack, and the old data kept', async (_what, urlPath, message) => {
    const to = path.join(tempDir('vulndb'), 'osv');
    expect((await capture(() => run(['sync', '--from', FIXTURES, '--to', to]))).code).toBe(0);
    const before = await fingerprint(to);
    const r = await capture(() => run(['sync', '--from', `${base}${urlPath}`, '--from', FIXTURES, '--to', to, '--quiet']));
    expect(r.code).toBe(1);
    expect(r.out).toBe('');
    expect(r.err.replace(/127\.0\.0\.1:\d+/, '127.0.0.1:PORT')).toBe(`portcullis vulndb: sync failed: ${message}\nthe data in ${to} is unchanged\n`);
    expect(await fingerprint(to)).toBe(before);
    expect(existsSync(path.join(to, 'Debian/DSA-5532-1.json'))).toBe(true);
  });

  test('refuses to replace a folder that holds other files than OSV data, unless --force (issue 11.9)', async () => {
    const to = path.join(tempDir('vulndb'), 'mine');
    mkdirSync(to, { recursive: true });
    writeFileSync(path.join(to, 'README.md'), 'my notes');
    const r = await capture(() => run(['sync', '--from', FIXTURES, '--to', to, '--quiet']));
    expect(r.code).toBe(2);
    expect(r.err).toContain('holds files that are not OSV data (README.md)');
    expect(readFileSync(path.join(to, 'README.md'), 'utf8')).toBe('my notes');
    expect((await capture(() => run(['sync', '--from', FIXTURES, '--to', to, '--quiet', '--force']))).code).toBe(0);
    expect(existsSync(path.join(to, 'README.md'))).toBe(false);
  });

  test('a failed sync into a folder that did not exist says nothing was written, not "unchanged"', async () => {
    const to = path.join(tempDir('vulndb'), 'new-osv');
    const r = await capture(() => run(['sync', '--from', `${base}/gone/all.zip`, '--to', to, '--quiet']));
    expect(r.code).toBe(1);
    expect(r.err).toContain(`nothing was written: ${to} did not exist and still does not`);
    expect(r.err).not.toContain('unchanged');
    expect(existsSync(to)).toBe(false);
  });

  test.each([
    [['sync', '--to', '/tmp/x'], 'at least one --from is required'],
    [['sync', '--from', FIXTURES, '--colour', 'red'], "Unknown option '--colour'"],
    [['refresh', '--from', FIXTURES], "unknown subcommand 'refresh'"],
    [[], 'a subcommand is required'],
  ])('usage error %j exits 2', async (argv, message) => {
    const r = await capture(() => run(argv));
    expect(r.code).toBe(2);
    expect(r.err).toContain(message);
    expect(r.err).toContain('usage: portcullis vulndb sync');
  });

  test('as a process: --to defaults to the osvPath of the first builtin scanner in the configuration', async () => {
    const dir = tempDir('vulndb-cfg');
    const osvPath = path.join(dir, 'data', 'osv');
    const configFile = path.join(dir, 'config.yaml');
    writeFileSync(configFile, YAML.stringify({
      internalRegistry: { url: services().internal.url },
      scanners: [{ name: 'builtin-main', type: 'builtin', osvPath }, { name: 'builtin-second', type: 'builtin', osvPath: path.join(dir, 'other') }],
    }));
    const r = await runCli(['vulndb', 'sync', '--from', `${base}/crates.io/all.zip`], configFile);
    expect(r.output).toContain(`synced 2 records (1 files, 0.0 MiB) into ${osvPath}\n`);
    expect(r.code).toBe(0);
    expect(readFileSync(path.join(osvPath, 'crates.io/all.zip'))).toEqual(ALL_ZIP);
    expect(existsSync(path.join(dir, 'other'))).toBe(false);

    const failed = await runCli(['vulndb', 'sync', '--from', `${base}/gone/all.zip`], configFile);
    expect(failed.code).toBe(1);
    expect(failed.output).toContain('answered HTTP 404');
    expect(failed.output).not.toMatch(/\n\s+at /);
    expect(readFileSync(path.join(osvPath, 'crates.io/all.zip'))).toEqual(ALL_ZIP);
  });
});
