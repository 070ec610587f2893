import { mkdtempSync, readFileSync, readdirSync, rmSync, writeFileSync, mkdirSync, existsSync } from 'node:fs';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { OsvDatabase } from '../../../../src/scanners/osv/database';
import { localNameFor, syncOsv, type SyncProgress } from '../../../../src/scanners/osv/sync';

const FIXTURES = path.join(__dirname, '../../../fixtures/osv/db');
const ZIP = readFileSync(path.join(FIXTURES, 'PyPI/all.zip'));

describe('syncOsv', () => {
  let dir: string;
  let server: Server;
  let base: string;
  beforeAll(async () => {
    server = createServer((req, res) => {
      if (req.url === '/PyPI/all.zip') {
        res.writeHead(200, { 'content-type': 'application/zip', 'content-length': ZIP.length });
        res.end(ZIP);
      } else if (req.url === '/garbage/all.zip') {
        res.end('not a zip');
      } else {
        res.writeHead(404).end();
      }
    });
    await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
    base = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
  });
  afterAll(() => new Promise<void>((r) => server.close(() => r())));
  beforeEach(() => {
    dir = mkdtempSync(path.join(tmpdir(), 'osv-sync-'));
  });
  afterEach(() => rmSync(dir, { recursive: true, force: true }));

  test('downloads an all.zip under its ecosystem folder, with progress, and the scanner can load it', async () => {
    const progress: SyncProgress[] = [];
    const to = path.join(dir, 'osv');
    const r = await syncOsv({ from: `${base}/PyPI/all.zip`, to, onProgress: (p) => progress.push(p) });
    expect(r).toMatchObject({ files: 1, bytes: ZIP.length, records: 1, dbVersion: expect.stringMatching(/^osv-1-/) });
    expect(progress.at(-1)).toEqual({ file: 'PyPI/all.zip', bytes: ZIP.length, total: ZIP.length });
    const db = await OsvDatabase.load(to);
    expect(db.findingsFor({ name: 'requests', version: '2.28.0', ecosystem: 'PyPI', path: 'x' }).map((f) => f.id)).toEqual(['PYSEC-2023-74']);
  });

  test('copies a folder and replaces the previous data in one swap', async () => {
    const to = path.join(dir, 'osv');
    mkdirSync(to);
    writeFileSync(path.join(to, 'stale.json'), '{}');
    const r = await syncOsv({ from: [FIXTURES, `${base}/PyPI/all.zip`], to });
    expect(r.records).toBe(10); // the download overwrote the folder's copy of PyPI/all.zip, not added to it
    expect(existsSync(path.join(to, 'stale.json'))).toBe(false);
    expect(existsSync(path.join(to, 'Debian/DSA-5532-1.json'))).toBe(true);
    expect(readFileSync(path.join(to, 'PyPI/all.zip'))).toEqual(ZIP);
  });

  test('a beforeSwap that throws (a lease lost) leaves the current data in place and no staging folder', async () => {
    const to = path.join(dir, 'osv');
    mkdirSync(to);
    writeFileSync(path.join(to, 'current.json'), '{}');
    let asked = 0;
    await expect(syncOsv({ from: FIXTURES, to, beforeSwap: async () => { asked += 1; throw new Error('lease lost'); } })).rejects.toThrow('lease lost');
    expect(asked).toBe(1);
    expect(existsSync(path.join(to, 'current.json'))).toBe(true);
    expect(existsSync(path.join(to, 'Debian/DSA-5532-1.json'))).toBe(false);
    expect(readdirSync(dir)).toEqual(['osv']);
  });

  test.each([
    ['a 404', '/missing/all.zip', 'HTTP 404'],
    ['data without records', '/garbage/all.zip', 'OSV export all.zip cannot be read'],
  ])('%s leaves the current data in place', async (_what, urlPath, message) => {
    const to = path.join(dir, 'osv');
    mkdirSync(to);
    writeFileSync(path.join(to, 'keep.json'), '{"id":"K","modified":"2024-01-01T00:00:00Z"}');
    await expect(syncOsv({ from: `${base}${urlPath}`, to })).rejects.toMatchObject({ message: expect.stringContaining(message) });
    expect(existsSync(path.join(to, 'keep.json'))).toBe(true);
    expect(readFileSync(path.join(dir, 'osv', 'keep.json'), 'utf8')).toContain('"K"');
  });

  test('a download above the size limit is refused', async () => {
    await expect(syncOsv({ from: `${base}/PyPI/all.zip`, to: path.join(dir, 'osv'), maxBytes: 10 })).rejects.toMatchObject({ code: 'SCAN_LIMIT_EXCEEDED' });
  });

  test.each([
    ['https://osv-vulnerabilities.storage.googleapis.com/Debian/all.zip', 'Debian/all.zip'],
    ['https://example.com/x/GHSA-1.json', 'GHSA-1.json'],
    ['https://example.com/all.zip', 'all.zip'],
    ['https://example.com/../../etc/all.zip', 'etc/all.zip'],
  ])('local name of %s is %s', (url, name) => {
    expect(localNameFor(url)).toBe(name);
  });
});
