/**
 * The matcher's version, kept with the re-match's state (./rematch-state.ts): a state kept by
 * another matcher is not diffed against, every package is matched again. It is derived, not
 * written by hand: a hash of the sources that decide which advisories match a package and what
 * its findings say ({@link MATCHER_SOURCES}: the version orderings, the OSV index and range
 * matching, severity, twins and coverage, the finding's fields, and the re-match's own memo,
 * report text and inventory form), read when the module loads. A build that changes any of
 * them therefore starts with a full re-match, and nobody can forget to bump it; a change of
 * a comment costs one full pass, never a wrong finding. test/unit/monitor/matcher-version.test.ts
 * checks that the list holds every module those files import (a new one cannot be missed).
 */
import { createHash } from 'node:crypto';
import { existsSync, readdirSync, readFileSync } from 'node:fs';
import path from 'node:path';

/** Paths under `src/` (without extension); a trailing `/` takes every module of the folder. */
export const MATCHER_SOURCES: readonly string[] = [
  'scanners/builtin/match', 'scanners/builtin/merge', 'scanners/builtin/twins',
  'scanners/coverage', 'scanners/cvss', 'scanners/severity-labels', 'scanners/types', 'scanners/packages',
  'scanners/osv/database', 'scanners/osv/match', 'scanners/osv/ecosystems', 'scanners/osv/severity', 'scanners/osv/schema',
  'scanners/versions/',
  'monitor/rematch-memo', 'monitor/rematch-text', 'monitor/inventory-compact',
];

const isModule = (name: string): boolean => /\.(ts|js)$/.test(name) && !name.endsWith('.d.ts');

/** The files of {@link MATCHER_SOURCES} under `root` (compiled `.js` when built, `.ts` when run from sources), sorted. */
export function matcherFiles(root: string, sources: readonly string[] = MATCHER_SOURCES): string[] {
  const files: string[] = [];
  for (const source of sources) {
    if (source.endsWith('/')) {
      const dir = path.join(root, source);
      const names = readdirSync(dir).filter(isModule);
      const ext = names.some((n) => n.endsWith('.js')) ? '.js' : '.ts';
      files.push(...names.filter((n) => n.endsWith(ext)).map((n) => path.join(dir, n)));
    } else {
      const js = path.join(root, `${source}.js`);
      files.push(existsSync(js) ? js : path.join(root, `${source}.ts`));
    }
  }
  return files.sort();
}

/** The version of the matcher whose sources are under `root`: `builtin-` and a hash of their paths and texts. */
export function matcherVersion(root: string, sources: readonly string[] = MATCHER_SOURCES): string {
  const hash = createHash('sha256');
  for (const file of matcherFiles(root, sources)) hash.update(path.relative(root, file)).update('\0').update(readFileSync(file)).update('\0');
  return `builtin-${hash.digest('base64url').slice(0, 16)}`;
}

/** This build's matcher version (`src/` is this file's folder's parent, in the sources and in `dist/`). */
export const MATCHER_VERSION = matcherVersion(path.resolve(__dirname, '..'));
