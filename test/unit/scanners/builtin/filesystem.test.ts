/**
 * MergedFilesystem: whiteouts, opaque directories and replaced paths hide what lower layers put
 * there exactly as before (checked against the former whole-tree walk on random layers), and a
 * layer's whiteouts cost in proportion to themselves, not to the kept paths times their depth
 * (a 44 KB image of 1,500 paths 1,500 directories deep, then whiteout-only layers, cost ~4 s a layer).
 */
import { LayerChanges, MergedFilesystem, type PathFacts } from '../../../../src/scanners/builtin/filesystem';

/** The former apply: every kept path, and each of its parents, tested against the layer's sets. */
class WalkingFilesystem {
  readonly files = new Map<string, PathFacts>();
  apply(c: LayerChanges): void {
    const parents = (p: string) => p.split('/').slice(0, -1).map((_, i, a) => a.slice(0, i + 1).join('/'));
    if (c.whiteouts.size || c.opaqueDirs.size || c.replaced.size) {
      for (const path of [...this.files.keys()]) {
        const hidden = c.whiteouts.has(path) || c.replaced.has(path) || parents(path).some((p) => c.whiteouts.has(p) || c.opaqueDirs.has(p) || c.replaced.has(p));
        if (hidden) this.files.delete(path);
      }
    }
    for (const [path, facts] of c.facts) this.files.set(path, facts);
  }
}

/** Counts every look at a set: membership tests, and elements handed out by any iteration (counted whole). */
class CountingSet extends Set<string> {
  static looks = 0;
  override has(v: string): boolean { CountingSet.looks += 1; return super.has(v); }
  override [Symbol.iterator](): SetIterator<string> { CountingSet.looks += this.size; return super[Symbol.iterator](); }
  override values(): SetIterator<string> { CountingSet.looks += this.size; return super.values(); }
  override keys(): SetIterator<string> { CountingSet.looks += this.size; return super.keys(); }
  override entries(): SetIterator<[string, string]> { CountingSet.looks += this.size; return super.entries(); }
  override forEach(fn: (v: string, k: string, s: Set<string>) => void): void { CountingSet.looks += this.size; super.forEach(fn); }
}

function layer(digest: string, spec: { files?: string[]; whiteouts?: string[]; opaque?: string[]; replaced?: string[] }, sets: () => Set<string> = () => new Set()): LayerChanges {
  const c = new LayerChanges(digest);
  const fill = (target: Set<string>, from: string[] = []) => { for (const p of from) target.add(p); };
  Object.assign(c, { whiteouts: sets(), opaqueDirs: sets(), replaced: sets() });
  fill(c.whiteouts, spec.whiteouts);
  fill(c.opaqueDirs, spec.opaque);
  fill(c.replaced, spec.replaced);
  for (const p of spec.files ?? []) c.facts.set(p, { layer: digest });
  return c;
}

describe('MergedFilesystem', () => {
  test('a whiteout hides the path and everything under it; an opaque directory only what is under it; replaced as a whiteout', () => {
    const fs = new MergedFilesystem();
    fs.apply(layer('l1', { files: ['etc/os-release', 'a/b/c', 'a/b/d', 'a/bc', 'x/y', 'x', 'o/p/q', 'o', 'r/s'] }));
    fs.apply(layer('l2', { whiteouts: ['a/b', 'nothing/here'], opaque: ['o'], replaced: ['r'], files: ['a/b/e'] }));
    expect([...fs.entries()].map(([p, f]) => `${p}@${f.layer}`)).toEqual(['etc/os-release', 'a/bc', 'x/y', 'x', 'o', 'a/b/e@l2'].map((p) => (p.includes('@') ? p : `${p}@l1`)));
    fs.apply(layer('l3', { whiteouts: ['x'] }));
    expect(fs.has('x')).toBe(false);
    expect(fs.has('x/y')).toBe(false);
    expect(fs.get('a/b/e')).toEqual({ layer: 'l2' });
  });

  test('random layers merge exactly as the former whole-tree walk did, in the same order', () => {
    let seed = 42;
    const rand = (n: number) => { seed = (seed * 1103515245 + 12345) % 2 ** 31; return seed % n; };
    const names = ['a', 'b', 'c', '', 'lib'];
    const path = () => Array.from({ length: 1 + rand(4) }, () => names[rand(names.length)]).join('/');
    for (let round = 0; round < 50; round += 1) {
      const merged = new MergedFilesystem();
      const walked = new WalkingFilesystem();
      for (let l = 0; l < 8; l += 1) {
        const many = (n: number) => Array.from({ length: rand(n) }, path);
        const spec = { files: many(12), whiteouts: many(3), opaque: many(2), replaced: many(2) };
        merged.apply(layer(`l${l}`, spec));
        walked.apply(layer(`l${l}`, spec));
        expect([...merged.entries()]).toEqual([...walked.files.entries()]);
      }
    }
  });

  test('whiteout-only layers over deep paths look at their own sets a bounded number of times, not at every kept path and parent', () => {
    const deep = 'd/'.repeat(1500);
    const fs = new MergedFilesystem();
    fs.apply(layer('base', { files: Array.from({ length: 1500 }, (_, i) => `${deep}s${i}`) }));
    CountingSet.looks = 0;
    const layers = 2000;
    let applied = 0;
    // Each layer's two entries, iterated once each (the former walk: 1,500 paths × 1,500 parents × 3 sets a layer).
    // Stops at the first layer over the bound, so that a regression fails here and does not run for hours.
    while (applied < layers && CountingSet.looks <= applied * 2 * 2) {
      fs.apply(layer(`w${applied}`, { whiteouts: [`x${applied}`], opaque: [`o${applied}`] }, () => new CountingSet()));
      applied += 1;
    }
    expect(CountingSet.looks).toBeLessThanOrEqual(layers * 2 * 2);
    expect(applied).toBe(layers);
    expect([...fs.entries()]).toHaveLength(1500);
    fs.apply(layer('gone', { whiteouts: ['d'] }));
    expect([...fs.entries()]).toHaveLength(0);
  });
});
