/**
 * What a version of the OSV data says per index key, in a form small enough to keep between
 * versions: a hash of the advisories under each (ecosystem, package name) key, in index order,
 * with everything a finding takes from them (id, aliases, title, links, the `affected` entry
 * that decides the match, severity); a hash of each borrowable severity (an advisory without a
 * score takes the most severe one another record gives its id or an alias, ./database.ts); and,
 * per id or alias, the keys of the unscored advisories that borrow under it.
 *
 * Two manifests give the keys whose findings may differ between the two versions
 * ({@link changedKeys}): added, changed, withdrawn or reordered advisories change their key's
 * hash, and a borrowed severity that changed reaches every key that borrows it. A package none
 * of whose lookup keys (./database.ts `lookupKeys`) is among them has the same findings under
 * both versions: the re-match (src/monitor/rematch.ts) keeps them.
 */
import { createHash } from 'node:crypto';
import { z } from 'zod';
import type { OsvDatabase } from './database';

// Pairs, not objects: ids and aliases are the data's own strings (`__proto__` included).
const pairs = <T extends z.ZodTypeAny>(value: T) => z.array(z.tuple([z.string(), value]));

export const dataManifestSchema = z.object({
  v: z.literal(1),
  /** Index key → hash of its advisories. */
  keys: pairs(z.string()),
  /** Id or alias → hash of the severity other records may borrow under it. */
  scored: pairs(z.string()),
  /** Id or alias → keys of unscored advisories that would borrow a severity under it. */
  borrowers: pairs(z.array(z.string())),
});
export type DataManifest = z.infer<typeof dataManifestSchema>;

const hash = (text: string): string => createHash('sha256').update(text).digest('base64').slice(0, 22);

const MANIFESTS = new WeakMap<OsvDatabase, DataManifest>();

/** The manifest of a loaded database (computed once per database object). */
export function manifestOf(db: OsvDatabase): DataManifest {
  const known = MANIFESTS.get(db);
  if (known) return known;
  const { index, scored } = db.contents;
  const keys: Array<[string, string]> = [];
  const borrowers = new Map<string, string[]>();
  for (const [k, advisories] of index) {
    keys.push([k, hash(JSON.stringify(advisories.map((a) => [a.id, a.aliases, a.title, a.links, a.affected, a.severity, a.cvss ?? null])))]);
    for (const a of advisories) {
      if (a.severity !== 'unknown') continue;
      for (const name of [a.id, ...a.aliases]) {
        const list = borrowers.get(name) ?? [];
        if (!list.includes(k)) list.push(k);
        borrowers.set(name, list);
      }
    }
  }
  const m: DataManifest = {
    v: 1, keys, borrowers: [...borrowers],
    scored: [...scored].map(([name, sev]) => [name, hash(JSON.stringify([sev.severity, sev.cvss ?? null]))]),
  };
  MANIFESTS.set(db, m);
  return m;
}

function changedIn(before: ReadonlyArray<[string, string]>, after: ReadonlyArray<[string, string]>): Set<string> {
  const was = new Map(before);
  const changed = new Set<string>();
  for (const [k, h] of after) {
    if (was.get(k) !== h) changed.add(k);
    was.delete(k);
  }
  for (const k of was.keys()) changed.add(k);
  return changed;
}

/** The index keys whose findings may differ between the data of `before` and of `after`. */
export function changedKeys(before: DataManifest, after: DataManifest): Set<string> {
  const changed = changedIn(before.keys, after.keys);
  const borrowing = [new Map(before.borrowers), new Map(after.borrowers)];
  for (const name of changedIn(before.scored, after.scored)) {
    for (const b of borrowing) for (const k of b.get(name) ?? []) changed.add(k);
  }
  return changed;
}
