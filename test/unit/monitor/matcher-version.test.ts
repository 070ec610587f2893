/**
 * The matcher's version is derived from its sources (src/monitor/matcher-version.ts), so a
 * change of matching cannot ship under the old version (the re-match would diff against a
 * state another matcher kept and keep findings it no longer gives). Checked here: the version
 * follows the sources' texts, and the list of sources holds every module they import, directly
 * or through a barrel (index.ts), so a new module the matcher starts to use cannot be left out.
 */
import { cpSync, existsSync, mkdtempSync, readFileSync, rmSync, appendFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { MATCHER_SOURCES, MATCHER_VERSION, matcherFiles, matcherVersion } from '../../../src/monitor/matcher-version';

const src = path.resolve(__dirname, '../../../src');

/**
 * Modules the matcher sources import that decide nothing about findings: errors, reading the
 * data (a change there changes the data's manifest, which the re-match diffs), the scan's
 * layer reading (the matcher takes only the inventory's type from it), the registry's types.
 */
const NOT_MATCHING = new Set(['lib/errors.ts', 'scanners/osv/loader.ts', 'scanners/builtin/inventory-image.ts', 'registry/types.ts']);

describe('the matcher version', () => {
  it('is the hash of the matcher sources, and changes when one of them changes', () => {
    const copy = mkdtempSync(path.join(tmpdir(), 'portcullis-matcher-'));
    try {
      for (const file of matcherFiles(src)) cpSync(file, path.join(copy, path.relative(src, file)), { recursive: true });
      expect(matcherVersion(copy)).toBe(matcherVersion(src));
      expect(matcherVersion(src)).toBe(MATCHER_VERSION);
      for (const file of [path.join(copy, 'scanners/osv/match.ts'), path.join(copy, 'scanners/versions/pep440.ts'), path.join(copy, 'monitor/rematch-memo.ts')]) {
        const before = matcherVersion(copy);
        appendFileSync(file, '\n// changed\n');
        expect(matcherVersion(copy)).not.toBe(before);
      }
    } finally {
      rmSync(copy, { recursive: true, force: true });
    }
  });

  it('covers every module the matcher sources import', () => {
    const listed = new Set(matcherFiles(src).map((f) => path.relative(src, f)));
    expect(listed.size).toBeGreaterThan(15);
    const missing = new Set<string>();
    const resolve = (from: string, spec: string): { file: string; barrel: boolean } => {
      const base = path.resolve(path.dirname(path.join(src, from)), spec);
      if (existsSync(`${base}.ts`)) return { file: path.relative(src, `${base}.ts`), barrel: false };
      return { file: path.relative(src, path.join(base, 'index.ts')), barrel: true };
    };
    const check = (from: string, file: string): void => {
      if (!listed.has(file) && !NOT_MATCHING.has(file)) missing.add(`${file} (imported by ${from})`);
    };
    for (const file of listed) {
      const text = readFileSync(path.join(src, file), 'utf8');
      for (const m of text.matchAll(/^(?:import|export)\s+(?:type\s+)?([^;]*?)\s*from\s+'(\.[^']+)';/gms)) {
        const target = resolve(file, m[2]!);
        if (!target.barrel || listed.has(target.file)) { check(file, target.file); continue; }
        // Through a barrel: where each imported name comes from.
        const barrel = readFileSync(path.join(src, target.file), 'utf8');
        const names = (/\{([^}]*)\}/.exec(m[1]!)?.[1] ?? '').split(',').map((n) => n.trim().replace(/^type\s+/, '').split(/\s+as\s+/)[0]!).filter(Boolean);
        for (const name of names) {
          const line = [...barrel.matchAll(/^export\s+(?:type\s+)?\{([^}]*)\}\s*from\s+'(\.[^']+)';/gm)]
            .find((e) => e[1]!.split(',').some((n) => n.trim().replace(/^type\s+/, '').split(/\s+as\s+/).pop() === name));
          if (!line) { missing.add(`${name} (from ${target.file}, imported by ${file}: not found)`); continue; }
          check(file, resolve(target.file, line[2]!).file);
        }
      }
    }
    expect([...missing]).toEqual([]);
  });

  it('lists folders and files that exist', () => {
    for (const source of MATCHER_SOURCES) expect(existsSync(path.join(src, source.endsWith('/') ? source : `${source}.ts`))).toBe(true);
  });
});
