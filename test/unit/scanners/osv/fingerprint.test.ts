/**
 * The OSV data fingerprint remembered per folder (src/scanners/osv/loader.ts): its value is
 * the full computation's (a hash of relative names, sizes and modification times: unchanged by
 * remembering it), and what it promises to notice, when, on real folders in /tmp:
 * - at the next call: a file added, removed or renamed (in the root or a subfolder), the
 *   folder replaced whole (as `vulndb sync` does), anything while the folders' modification
 *   times are too recent to be trusted;
 * - a file rewritten in place (its folder untouched): at the next full look, `recheckMs` later;
 * - a sync's reported version and the next scan's are the new data's, never the remembered one.
 * Time is the test's clock, moved by hand (no waiting); folder times are set in the past with
 * utimes where the test needs them "settled".
 */
import { createHash } from 'node:crypto';
import { mkdirSync, mkdtempSync, readdirSync, renameSync, rmSync, statSync, utimesSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { fingerprint, OsvFingerprints } from '../../../../src/scanners/osv/loader';
import { syncOsv } from '../../../../src/scanners/osv/sync';
import { BuiltinScanner } from '../../../../src/scanners/builtin/adapter';

const RECHECK = 30_000;
const record = (id: string, extra = '') => JSON.stringify({ id, modified: '2025-01-01T00:00:00Z', summary: `record ${id}${extra}`, affected: [{ package: { ecosystem: 'npm', name: `p-${id}` }, ranges: [{ type: 'SEMVER', events: [{ introduced: '0' }, { fixed: '1.0.0' }] }] }] });

/** What the fingerprint was before it was remembered: every file stat'ed, in name order. */
function reference(root: string): string {
  const files: string[] = [];
  const walk = (dir: string): void => {
    for (const e of readdirSync(dir, { withFileTypes: true }).sort((a, b) => a.name.localeCompare(b.name))) {
      const full = path.join(dir, e.name);
      if (e.isDirectory()) walk(full);
      else if (e.isFile() && /\.(json|zip)$/i.test(e.name)) files.push(full);
    }
  };
  walk(root);
  const hash = createHash('sha256');
  for (const f of files) {
    const st = statSync(f);
    hash.update(`${path.relative(root, f)}\0${st.size}\0${st.mtimeMs}\n`);
  }
  return `osv-${files.length}-${hash.digest('hex').slice(0, 16)}`;
}

/** Every folder of the tree dated an hour back, as a folder untouched for a while is. */
function settle(root: string): void {
  const past = new Date(Date.now() - 3600_000);
  const walk = (dir: string): void => {
    for (const e of readdirSync(dir, { withFileTypes: true })) if (e.isDirectory()) walk(path.join(dir, e.name));
    utimesSync(dir, past, past);
  };
  walk(root);
}

describe('OSV fingerprint remembered per folder', () => {
  let base: string;
  let root: string;
  let t: number;
  let fps: OsvFingerprints;

  beforeEach(() => {
    base = mkdtempSync(path.join(tmpdir(), 'osv-fp-'));
    root = path.join(base, 'osv');
    for (const e of ['npm', 'PyPI']) {
      mkdirSync(path.join(root, e), { recursive: true });
      for (let i = 0; i < 5; i++) writeFileSync(path.join(root, e, `${e}-${i}.json`), record(`${e}-${i}`));
    }
    settle(root);
    t = Date.now();
    fps = new OsvFingerprints({ recheckMs: RECHECK, now: () => t });
  });
  afterEach(() => rmSync(base, { recursive: true, force: true }));

  test('is the full computation\'s value, and stays while nothing changes', async () => {
    const v = await fps.get(root);
    expect(v).toBe(reference(root));
    expect(v).toMatch(/^osv-10-[0-9a-f]{16}$/);
    expect(await fps.get(root)).toBe(v);
    expect(await fingerprint(root)).toBe(v);
  });

  test('a file added, removed or renamed in a subfolder shows at the next call', async () => {
    const v0 = await fps.get(root);
    writeFileSync(path.join(root, 'npm', 'npm-new.json'), record('npm-new'));
    const v1 = await fps.get(root);
    expect(v1).not.toBe(v0);
    expect(v1).toBe(reference(root));
    settle(root);
    const v2 = await fps.get(root);
    rmSync(path.join(root, 'PyPI', 'PyPI-0.json'));
    const v3 = await fps.get(root);
    expect(v3).not.toBe(v2);
    expect(v3).toBe(reference(root));
    settle(root);
    await fps.get(root);
    // An editor that saves to a new file and renames it over the old one.
    writeFileSync(path.join(root, 'npm', '.npm-1.json.swp'), record('npm-1', ' edited'));
    renameSync(path.join(root, 'npm', '.npm-1.json.swp'), path.join(root, 'npm', 'npm-1.json'));
    expect(await fps.get(root)).toBe(reference(root));
  });

  test('a new subfolder, and a file added at the root, show at the next call', async () => {
    const v0 = await fps.get(root);
    mkdirSync(path.join(root, 'Go'));
    writeFileSync(path.join(root, 'Go', 'GO-1.json'), record('GO-1'));
    const v1 = await fps.get(root);
    expect([v1 !== v0, v1]).toEqual([true, reference(root)]);
    settle(root);
    await fps.get(root);
    writeFileSync(path.join(root, 'top.json'), record('top'));
    expect(await fps.get(root)).toBe(reference(root));
  });

  test('the folder replaced whole (as vulndb sync swaps it) shows at the next call', async () => {
    const v0 = await fps.get(root);
    const next = path.join(base, 'osv.next');
    mkdirSync(path.join(next, 'npm'), { recursive: true });
    for (let i = 0; i < 3; i++) writeFileSync(path.join(next, 'npm', `npm-${i}.json`), record(`npm-${i}`));
    settle(next);
    renameSync(root, path.join(base, 'osv.old'));
    renameSync(next, root);
    const v1 = await fps.get(root);
    expect(v1).not.toBe(v0);
    expect(v1).toBe(reference(root));
  });

  test('a file rewritten in place (its folder untouched) shows at the next full look, recheckMs later', async () => {
    const v0 = await fps.get(root);
    const file = path.join(root, 'npm', 'npm-2.json');
    const before = statSync(path.join(root, 'npm'));
    writeFileSync(file, record('npm-2', ' rewritten in place, longer'));
    // The folder's times did not move: nothing tells a cheap check.
    expect(statSync(path.join(root, 'npm')).mtimeMs).toBe(before.mtimeMs);
    t += RECHECK - 1;
    expect(await fps.get(root)).toBe(v0);
    t += 1;
    const v1 = await fps.get(root);
    expect(v1).not.toBe(v0);
    expect(v1).toBe(reference(root));
  });

  test('a clock stepped back does not stretch how long an in-place rewrite stays unseen', async () => {
    const v0 = await fps.get(root);
    writeFileSync(path.join(root, 'npm', 'npm-3.json'), record('npm-3', ' rewritten in place, after a clock step'));
    t -= 3600_000;
    const v1 = await fps.get(root);
    expect(v1).not.toBe(v0);
    expect(v1).toBe(reference(root));
  });

  test('while a folder was modified too recently to be trusted, every call looks at every file', async () => {
    // Folder times of now: a later change in the same timestamp tick would not move them.
    writeFileSync(path.join(root, 'npm', 'npm-9.json'), record('npm-9'));
    const v0 = await fps.get(root);
    writeFileSync(path.join(root, 'npm', 'npm-0.json'), record('npm-0', ' rewritten in place'));
    const v1 = await fps.get(root);
    expect(v1).not.toBe(v0);
    expect(v1).toBe(reference(root));
    // Once the folder is old enough, the remembered value is used again (an in-place rewrite waits for the recheck).
    settle(root);
    const v2 = await fps.get(root);
    writeFileSync(path.join(root, 'npm', 'npm-0.json'), record('npm-0', ' rewritten in place again'));
    expect(await fps.get(root)).toBe(v2);
  });

  test('fresh looks at every file now; a missing folder is SCANNER_UNAVAILABLE and remembers nothing', async () => {
    const v0 = await fps.get(root);
    writeFileSync(path.join(root, 'npm', 'npm-3.json'), record('npm-3', ' rewritten in place'));
    expect(await fps.get(root)).toBe(v0);
    const v1 = await fps.get(root, { fresh: true });
    expect(v1).not.toBe(v0);
    expect(v1).toBe(reference(root));
    expect(await fps.get(root)).toBe(v1);
    renameSync(root, path.join(base, 'gone'));
    await expect(fps.get(root)).rejects.toMatchObject({ code: 'SCANNER_UNAVAILABLE' });
  });

  test('a vulndb sync reports the new data\'s version, and the scanner\'s next version and database are the new data\'s', async () => {
    const scanner = new BuiltinScanner({ name: 'osv', osvPath: root });
    // The process remembers the current folder (settled: the cheap check is what it relies on).
    const before = await scanner.dbVersion();
    expect((await scanner.vulnerabilityData()).version).toBe(before);
    const source = path.join(base, 'source');
    mkdirSync(path.join(source, 'npm'), { recursive: true });
    for (let i = 0; i < 5; i++) writeFileSync(path.join(source, 'npm', `npm-${i}.json`), record(`npm-${i}`));
    writeFileSync(path.join(source, 'npm', 'npm-added.json'), record('npm-added'));
    const synced = await syncOsv({ from: source, to: root });
    expect(synced.dbVersion).not.toBe(before);
    expect(synced.dbVersion).toBe(reference(root));
    expect(await scanner.dbVersion()).toBe(synced.dbVersion);
    const data = await scanner.vulnerabilityData();
    expect(data.version).toBe(synced.dbVersion);
    expect(data.db.loadStats.records).toBe(6);
  });
});
