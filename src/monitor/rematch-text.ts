/**
 * A digest's re-matched report as JSON text, from the memo's per-identity pieces
 * (./rematch-memo.ts): the text `JSON.stringify` gives for the report the object path builds
 * (RematchService, ../scanners/builtin/match.ts `matchInventory`), without building or walking
 * the objects. Only a digest of one image without a platform is written this way (nearly all);
 * the others take the object path. Also: whether the data change can have changed the digest's
 * report, and the `sameFindings` keys of its findings before and after.
 */
import type { InstalledPackage, PlatformInventory } from '../scanners';
import { summarize, type Finding, type Severity, type SeveritySummary } from '../scanners/types';
import { keysOf, type KeptIdentity, type MemoEntry, type RematchMemo } from './rematch-memo';

const q = JSON.stringify;

/** A finding's identity for "did the findings change" (RematchService `sameFindings`). */
export function findingKey(f: Finding): string {
  return [f.id, f.kind, f.package, f.ecosystem, f.installedVersion, f.fixedVersion, f.severity, f.path, f.layer, f.platform].map((v) => v ?? '').join('\u0000');
}

/** The set comparison `sameFindings` makes, on keys. */
export function sameKeys(before: readonly string[], after: readonly string[]): boolean {
  if (before.length !== after.length) return false;
  const set = new Set(before);
  return after.every((k) => set.has(k));
}

export interface DigestMatch {
  image: PlatformInventory;
  entries: MemoEntry[];
  /** A package was not in the previous pass's memo: the change is not known from it. */
  unknown: boolean;
  /** Some package's findings differ in what `sameFindings` compares (else at most their text changed). */
  keysChanged: boolean;
}

/** The memo entries of a digest the text path can write, or null (several images, a platform). */
export function matchDigest(images: readonly PlatformInventory[], memo: RematchMemo): DigestMatch | null {
  const image = images[0];
  if (images.length !== 1 || !image || image.platform) return null;
  // A vulnerability among the inventory's own findings would get a coverage twin: not this path's shape.
  if ([...image.coverage, ...image.hardening].some((f) => f.kind === 'vulnerability')) return null;
  const entries = image.packages.map((p) => memo.entry(p));
  // Twin findings are merged by the matcher's objects only: such a digest is not this path's shape.
  if (entries.some((e, i) => memo.hasTwins(image.packages[i]!, e))) return null;
  let unknown = false;
  let keysChanged = false;
  for (const e of entries) {
    if (e.before === 'unknown') unknown = true;
    else if (e.before === 'keys') keysChanged = true;
  }
  return { image, entries, unknown, keysChanged };
}

/** A package's place in a finding's text: what follows `"path":`. */
function place(pkg: InstalledPackage): string {
  return pkg.layer ? `${q(pkg.path)},"layer":${q(pkg.layer)}}` : `${q(pkg.path)}}`;
}

/** UTF-8 bytes of {@link place}: a path and layer of printable ASCII without `"` or `\\` (nearly all) are counted, not encoded. */
function placeBytes(pkg: InstalledPackage): number {
  const plain = PLAIN.test(pkg.path) && (pkg.layer === undefined || PLAIN.test(pkg.layer));
  if (!plain) return Buffer.byteLength(place(pkg));
  // `"path"` `}` or `"path"` `,"layer":` `"layer"` `}`
  return pkg.layer === undefined ? pkg.path.length + 3 : pkg.path.length + pkg.layer.length + 14;
}
const PLAIN = /^[ !#-[\]-~]*$/;

/** The digest's severity counts under this pass's data and under the previous one, in one walk. */
function summariesOf(m: DigestMatch): { now: SeveritySummary; before: SeveritySummary } {
  const now = summarize([...m.image.coverage, ...m.image.hardening]);
  const before = { ...now };
  const add = (summary: SeveritySummary, kept: KeptIdentity): void => {
    for (const x of kept.m) {
      summary[x[3] as Severity] += 1;
      if (x[3] === 'unknown') summary.unknown += 1;
    }
  };
  for (const e of m.entries) {
    if (e.kept.m.length > 0) add(now, e.kept);
    const old = e.keptBefore ?? e.kept;
    if (old.m.length > 0) add(before, old);
  }
  return { now, before };
}

function head(scanner: string, summary: SeveritySummary): string {
  return `{"scanner":${q(scanner)},"status":"succeeded","summary":${q(summary)},"findings":[`;
}

/** The report's JSON text. */
export function reportText(m: DigestMatch, memo: RematchMemo, scanner: string, tail: string): string {
  const parts: string[] = [];
  const twins: string[] = [];
  const { packages } = m.image;
  for (let i = 0; i < packages.length; i++) {
    const e = m.entries[i]!;
    if (e.kept.m.length === 0) continue;
    const pkg = packages[i]!;
    const { heads, twinHeads } = memo.built(pkg, e);
    const at = place(pkg);
    for (let j = 0; j < heads.length; j++) {
      parts.push(heads[j]! + at);
      const twin = twinHeads[j];
      if (twin) twins.push(twin + at);
    }
  }
  for (const f of [...m.image.coverage, ...m.image.hardening]) parts.push(q(f));
  const findings = twins.length > 0 ? parts.concat(twins) : parts;
  return `${head(scanner, summariesOf(m).now)}${findings.join(',')}${tail}`;
}

/**
 * The new report as edits of the stored one (made under the previous data, which the memo
 * knows the layout of): byte ranges of the stored text to keep and texts to put between them.
 * Only the findings of packages whose findings changed are sent.
 */
export interface ReportEdit {
  /** The stored report's start up to its first finding (its summary included), which must match. */
  before: string;
  /** 1-based byte position of the `]` closing the stored findings, which must be there. */
  end: number;
  /** The new start, up to the first finding. */
  head: string;
  /** `['c', from, length]` (1-based) or `['s', text]`, flattened. */
  ops: string[];
  /** Whether the findings text is the stored one (only the times and data version change). */
  kept: boolean;
}

export function reportEdit(m: DigestMatch, memo: RematchMemo, scanner: string): ReportEdit {
  const summaries = summariesOf(m);
  const before = head(scanner, summaries.before);
  // The new findings, item by item: a stored item's byte range (0-based) or a new text; joined by commas.
  const segments: Array<{ from: number; to: number } | { text: string }> = [];
  let items = 0;
  const text = (t: string): void => {
    const last = segments.at(-1);
    if (last && 'text' in last) last.text += t;
    else segments.push({ text: t });
  };
  const range = (from: number, to: number): void => {
    const last = segments.at(-1);
    if (last && 'to' in last && last.to === from) last.to = to;
    else segments.push({ from, to });
  };
  const keep = ([from, comma]: [number, boolean], length: number): void => {
    if (items++ > 0) {
      // The stored comma before it, when there is one, so that kept neighbours stay one range.
      if (comma) range(from - 1, from + length);
      else { text(','); range(from, from + length); }
    } else range(from, from + length);
  };
  const put = (t: string): void => text(items++ > 0 ? `,${t}` : t);
  // The stored findings, item by item: where each starts and whether a comma precedes it.
  let at = Buffer.byteLength(before);
  let stored = 0;
  const next = (length: number): [number, boolean] => {
    const comma = stored++ > 0;
    const from = comma ? at + 1 : at;
    at = from + length;
    return [from, comma];
  };
  const { packages } = m.image;
  let kept = true;
  const section = (twins: boolean): void => {
    for (let i = 0; i < packages.length; i++) {
      const e = m.entries[i]!;
      const old = (e.keptBefore ?? e.kept).m;
      const now = e.kept.m;
      if (old.length === 0 && now.length === 0) continue;
      const pkg = packages[i]!;
      let whereBytes = -1;
      if (e.before === 'same') {
        // The stored items of this package, kept as they are (old and now are the same matches).
        for (const x of old) {
          if (twins && x[5] === 0) continue;
          if (whereBytes < 0) whereBytes = placeBytes(pkg);
          const length = (twins ? x[5] : x[4]) + whereBytes;
          keep(next(length), length);
        }
        continue;
      }
      for (const x of old) {
        if (twins && x[5] === 0) continue;
        if (whereBytes < 0) whereBytes = placeBytes(pkg);
        next((twins ? x[5] : x[4]) + whereBytes);
      }
      if (now.length === 0) { kept = false; continue; }
      kept = false;
      const where = place(pkg);
      const { heads, twinHeads } = memo.built(pkg, e);
      for (let j = 0; j < heads.length; j++) {
        const t = twins ? twinHeads[j] : heads[j];
        if (t) put(t + where);
      }
    }
  };
  section(false);
  for (const f of [...m.image.coverage, ...m.image.hardening]) {
    const length = Buffer.byteLength(q(f));
    keep(next(length), length);
  }
  section(true);
  const ops: string[] = [];
  for (const seg of segments) {
    if ('text' in seg) ops.push('s', seg.text);
    else ops.push('c', String(seg.from + 1), String(seg.to - seg.from));
  }
  return { before, end: at + 1, head: head(scanner, summaries.now), ops, kept };
}

/** Whether the digest's findings are the same under both data versions, as `sameFindings` compares them. */
export function sameDigestFindings(m: DigestMatch): boolean {
  if (!m.keysChanged) return true;
  // Different counts differ (the common case: an advisory added or gone): no keys needed.
  let count = 0;
  for (const e of m.entries) {
    if (!e.keptBefore) continue;
    for (const x of e.keptBefore.m) count += x[3] === 'unknown' ? 2 : 1;
    for (const x of e.kept.m) count -= x[3] === 'unknown' ? 2 : 1;
  }
  return count === 0 && sameKeys(digestKeys(m, true), digestKeys(m));
}

/** The `sameFindings` keys of the digest's findings under this pass's data, or (`before`) under the previous one. */
export function digestKeys(m: DigestMatch, before = false): string[] {
  const out: string[] = [];
  const { packages } = m.image;
  for (let i = 0; i < packages.length; i++) {
    const e = m.entries[i]!;
    const kept = before && e.keptBefore ? e.keptBefore : e.kept;
    if (kept.m.length === 0) continue;
    const pkg = packages[i]!;
    const at = `\u0000${pkg.path}\u0000${pkg.layer ?? ''}\u0000`;
    for (const k of keysOf(pkg, kept)) out.push(k + at);
  }
  for (const f of [...m.image.coverage, ...m.image.hardening]) out.push(findingKey(f));
  return out;
}
