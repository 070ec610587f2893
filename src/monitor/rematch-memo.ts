/**
 * The fleet re-match's memo: per package identity (ecosystem, names, versions), which advisories
 * affect it and the JSON text of its findings, computed once per pass and kept between passes
 * (./rematch-state.ts). A package whose lookup keys the data change did not touch
 * (../scanners/osv/manifest.ts) takes the advisories found under the previous data version
 * without a version comparison; the others are matched again, and whether their findings
 * changed is known from what was kept.
 *
 * Each finding's text is written once per identity up to its `path`; a digest's report is then
 * those pieces joined with each package's place, and it is byte for byte the text
 * `JSON.stringify` gives for the report the matcher's objects make (../scanners/builtin/match.ts,
 * ../scanners/coverage.ts): serialising a fleet's reports object by object cost more than matching
 * them (issue 13, bench:monitor). test/unit/monitor/rematch-text.test.ts holds it to that.
 */
import { createHash } from 'node:crypto';
import { packageLookupKeys, type AdvisoryMatch, type OsvDatabase } from '../scanners';
import type { InstalledPackage } from '../scanners';
import { UNSCORED_SEVERITY } from '../scanners';
import type { Finding } from '../scanners/types';

/**
 * One kept match: candidate position, fixed version (null: none), advisory id, severity, and
 * the UTF-8 byte lengths of the finding's text up to `"path":` and of its unscored-severity
 * twin's (0: none): with them the previous report's layout is known without reading it.
 */
export type KeptMatch = [number, string | null, string, string, number, number];
/** What the memo keeps of an identity between passes: its matches and a hash of its findings' text. */
export interface KeptIdentity { m: KeptMatch[]; h: string }

export function identityOf(pkg: InstalledPackage): string {
  return `${pkg.ecosystem}\u0000${pkg.name}\u0000${pkg.version}\u0000${pkg.sourceName ?? ''}\u0000${pkg.sourceVersion ?? ''}`;
}

/** An identity's findings as objects and text (built only where a report is written whole or a package's findings changed). */
export interface Built {
  /** Findings without a place: `path` and `layer` come from each package. */
  templates: Array<Omit<Finding, 'layer'>>;
  /** Per finding, its JSON text up to and including `"path":`. */
  heads: string[];
  /** Per finding, the text of its unscored-severity coverage finding up to `"path":`, or null. */
  twinHeads: Array<string | null>;
}

export interface MemoEntry {
  /** Under this pass's data. */
  kept: KeptIdentity;
  /** Compared with the previous pass: unknown (not kept then), the same findings text, or the text / the keys changed. */
  before: 'unknown' | 'same' | 'text' | 'keys';
  /** Under the previous data (when `before` is `text` or `keys`). */
  keptBefore?: KeptIdentity;
  built?: Built;
  /** Whether two of its findings are twins (one names the other among its aliases), once asked. */
  twins?: boolean;
}

const q = JSON.stringify;

function keyPrefix(id: string, kind: string, pkg: InstalledPackage, fixed: string | null, severity: string): string {
  return [id, kind, pkg.name, pkg.ecosystem, pkg.version, fixed ?? '', severity].join('\u0000');
}

/** The identity part of `sameFindings`' key of each finding, then of each twin. */
export function keysOf(pkg: InstalledPackage, kept: KeptIdentity): string[] {
  const keys = kept.m.map(([, fixed, id, severity]) => keyPrefix(id, 'vulnerability', pkg, fixed, severity));
  for (const [, fixed, id, severity] of kept.m) if (severity === 'unknown') keys.push(keyPrefix(`${UNSCORED_SEVERITY}:${id}`, 'coverage', pkg, fixed, 'unknown'));
  return keys;
}

/** A package no advisory affects, unchanged (shared: never modified). */
const EMPTY_SAME: MemoEntry = Object.freeze({ kept: Object.freeze({ m: [], h: '' }), before: 'same', built: Object.freeze({ templates: [], heads: [], twinHeads: [] }) }) as MemoEntry;

const sameKept = (a: KeptIdentity, b: KeptIdentity): boolean =>
  a.m.length === b.m.length && a.m.every((x, i) => { const y = b.m[i]!; return x[1] === y[1] && x[2] === y[2] && x[3] === y[3]; });

/** The memo's entries under one (ecosystem, name, source name): whether the data change touched it, and per version. */
interface NameNode {
  touched?: boolean;
  versions: Map<string, MemoEntry>;
}

export class RematchMemo {
  /**
   * Entries by ecosystem, then name (and source name), then version (and source version): a
   * fleet asks about a million packages, and three lookups with the package's own strings cost
   * a third of building and hashing one identity string per package (bench:monitor).
   */
  private readonly byName = new Map<string, Map<string, NameNode>>();
  /** Every entry with its identity, in the order first asked: what {@link keep} writes. */
  private readonly all: Array<[string, MemoEntry]> = [];

  /**
   * @param previous what the previous pass kept, and the keys the data changed since (absent: match every identity)
   */
  constructor(
    private readonly db: OsvDatabase,
    private readonly previous?: { kept: ReadonlyMap<string, KeptIdentity>; changed: ReadonlySet<string> },
  ) {}

  private node(pkg: InstalledPackage): NameNode {
    let names = this.byName.get(pkg.ecosystem);
    if (!names) this.byName.set(pkg.ecosystem, (names = new Map()));
    const key = pkg.sourceName === undefined ? pkg.name : `${pkg.name}\u0000${pkg.sourceName}`;
    let node = names.get(key);
    if (!node) names.set(key, (node = { versions: new Map() }));
    return node;
  }

  entry(pkg: InstalledPackage): MemoEntry {
    const node = this.node(pkg);
    const version = pkg.sourceVersion === undefined ? pkg.version : `${pkg.version}\u0000${pkg.sourceVersion}`;
    let e = node.versions.get(version);
    if (e) return e;
    const identity = identityOf(pkg);
    const kept = this.previous?.kept.get(identity);
    // Whether the data change touched one of the package's lookup keys (they depend on its names only).
    if (kept !== undefined && node.touched === undefined) node.touched = packageLookupKeys(pkg).some((key) => this.previous!.changed.has(key));
    if (kept !== undefined && !node.touched) {
      // Untouched by the change: the advisories found under the previous data, at the same
      // places in the same candidate lists, with the same text; most packages have none.
      e = kept.m.length === 0 ? EMPTY_SAME : { kept, before: 'same' };
    } else {
      e = this.build(pkg, this.db.matchesFor(pkg));
      if (kept) {
        e.before = !sameKept(kept, e.kept) ? 'keys' : kept.h !== e.kept.h ? 'text' : 'same';
        if (e.before !== 'same') e.keptBefore = kept;
      }
    }
    node.versions.set(version, e);
    this.all.push([identity, e]);
    return e;
  }

  /** The findings of an entry as objects and text. */
  built(pkg: InstalledPackage, e: MemoEntry): Built {
    if (!e.built) e.built = this.texts(pkg, e.kept.m.map(([at, fixed]) => (fixed === null ? { at } : { at, fixedVersion: fixed })));
    return e.built;
  }

  private texts(pkg: InstalledPackage, matches: readonly AdvisoryMatch[]): Built {
    const templates = this.db.findingsAt(pkg, matches).map(({ layer: _layer, ...rest }) => rest);
    const heads: string[] = [];
    const twinHeads: Array<string | null> = [];
    for (const t of templates) {
      const { path: _path, ...head } = t;
      heads.push(`${q(head).slice(0, -1)},"path":`);
      if (t.kind === 'vulnerability' && t.severity === 'unknown') {
        // The same keys, in the same order, as ../scanners/coverage.ts `unscoredSeverities`.
        const twin = {
          id: `${UNSCORED_SEVERITY}:${t.id}`, aliases: [t.id, ...t.aliases], kind: 'coverage', severity: 'unknown', title: `severity of ${t.id} could not be determined`, links: t.links,
          ...(t.package !== undefined ? { package: t.package } : {}),
          ...(t.ecosystem !== undefined ? { ecosystem: t.ecosystem } : {}),
          ...(t.installedVersion !== undefined ? { installedVersion: t.installedVersion } : {}),
          ...(t.fixedVersion !== undefined ? { fixedVersion: t.fixedVersion } : {}),
        };
        twinHeads.push(`${q(twin).slice(0, -1)},"path":`);
      } else twinHeads.push(null);
    }
    return { templates, heads, twinHeads };
  }

  private build(pkg: InstalledPackage, matches: readonly AdvisoryMatch[]): MemoEntry {
    if (matches.length === 0) return { ...EMPTY_SAME, before: 'unknown' };
    const built = this.texts(pkg, matches);
    const { templates, heads, twinHeads } = built;
    const kept: KeptIdentity = {
      m: matches.map((m, i) => [m.at, m.fixedVersion ?? null, templates[i]!.id, templates[i]!.severity, Buffer.byteLength(heads[i]!), twinHeads[i] ? Buffer.byteLength(twinHeads[i]!) : 0]),
      h: createHash('sha256').update(heads.join('\n')).update('\n').update(twinHeads.join('\n')).digest('base64').slice(0, 22),
    };
    return { kept, built, before: 'unknown' };
  }

  /**
   * Whether two of the package's findings are twins (a GO record and its GHSA record): the scan
   * merges those into one (../scanners/builtin/twins.ts `mergeTwins`, in `matchImage`), which the
   * text pieces do not, so a digest holding such a package is written by the object path.
   */
  hasTwins(pkg: InstalledPackage, e: MemoEntry): boolean {
    if (e.kept.m.length < 2) return false;
    if (e.twins === undefined) {
      const { templates } = this.built(pkg, e);
      const ids = new Set(templates.map((t) => t.id));
      e.twins = templates.some((t) => t.aliases.some((a) => a !== t.id && ids.has(a)));
    }
    return e.twins;
  }

  /** The findings of one package, as `VulnerabilityIndex.findingsFor` gives them (for the object path). */
  findingsFor(pkg: InstalledPackage): Finding[] {
    const e = this.entry(pkg);
    if (e.kept.m.length === 0) return [];
    const { templates } = this.built(pkg, e);
    return pkg.layer ? templates.map((f) => ({ ...f, path: pkg.path, layer: pkg.layer })) : templates.map((f) => ({ ...f, path: pkg.path }));
  }

  /** What this pass keeps for the next one: every identity it looked at. */
  keep(): Array<[string, KeptIdentity]> {
    return this.all.map(([identity, e]) => [identity, e.kept]);
  }
}
