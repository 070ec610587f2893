/**
 * The approved set one webhook replica holds in memory: every team's approved images, by upstream
 * name and tag or digest, and by internal repository and tag or digest, plus the team's revoked
 * digests with who revoked them and why. A review is answered from here alone, never from the
 * network (Kyverno's image checks time out under load because they call out per review).
 */
import { parseReference, type ImageRef } from '../registry';
import { isCanonicalPinned, type KeyedRef } from './references';

export interface ApprovedEntry {
  team: string;
  /** Upstream name, `registry/repository` (normalized). */
  image: string;
  digest: string;
  /** `publicHost/approved/…@sha256:…`. */
  internalRef: string;
  /** Source tags approved with this digest (all-platform approvals only serve tag lookups). */
  tags: string[];
  /** The platform set of a platform-selected approval; empty or absent for the whole image. */
  platforms?: string[];
  /** Tag written in the internal repository. */
  internalTag?: string;
  /** ISO 8601: when it was approved; which of two approvals holds a tag when no tag index says. */
  approvedAt?: string;
}

/**
 * One entry of the ledger's tag index (store/keys.ts `approvedTag`, whole-image approvals): the
 * digest a tag of an upstream image is approved as now, the one CI's `GET /v1/approved` answers.
 * An approval's own tag list keeps every tag it was ever given, so only the index says which of
 * two approvals a re-approved tag belongs to.
 */
export interface ApprovedTag {
  team: string;
  /** Upstream `registry/repository`. */
  image: string;
  tag: string;
  digest: string;
}

export interface RevokedEntry {
  team: string;
  digest: string;
  /** The one image name revoked; absent when every name of the digest was. */
  image?: string;
  reason: string;
  by: string;
  at: string;
}

/**
 * A tag (upstream `registry/repository`, or the internal repository) that named `digest` when a
 * revocation dropped it from the ledger (store/keys.ts `revokedTag`, written in the revocation's
 * own script): a Pod naming it by tag is told REVOKED with the revocation's reason, as CI is.
 */
export interface RevokedTag {
  team: string;
  /** `registry/repository`, upstream or internal. */
  image: string;
  tag: string;
  digest: string;
}

export type Lookup =
  | { kind: 'approved'; entry: ApprovedEntry; pinned: boolean; internal: boolean }
  | { kind: 'revoked'; revoked: RevokedEntry }
  | { kind: 'unknown' };

/** An approval under one `name@digest` key; `pinned` when the key is the approval's canonical internal reference itself. */
interface DigestSlot {
  entry: ApprovedEntry;
  /**
   * The key is the approved internal reference exactly as the approval wrote it, in canonical
   * `registry/repository@digest` form: what a pinned Pod carries after the mutating webhook, so
   * that {@link ApprovedSet.pinned} answers the common review from this one lookup of the string
   * as written, without parsing it.
   */
  pinned: boolean;
}

interface TeamIndex {
  /** `name@digest` (upstream and internal name) → the approval. */
  byDigest: Map<string, DigestSlot>;
  byTag: Map<string, ApprovedEntry>;
  /** The ledger's tag index, `image:tag` (upstream) → digest, when the snapshot carried it. */
  tagIndex: Map<string, string>;
  /** Per digest: its revocations (one per image name, or one for every name). */
  revoked: Map<string, RevokedEntry[]>;
  /**
   * `name:tag` → the digest it named when a revocation dropped it; read only when byTag has no
   * entry (an approved tag never reaches it, and a re-approved tag is in byTag again).
   */
  revokedTags: Map<string, string>;
}

/** Whether `internalRef` (`registry/repository@digest`) is of the repository `name`, without splitting it. */
function isInternalName(internalRef: string, name: string): boolean {
  return internalRef.length > name.length && internalRef.charCodeAt(name.length) === 64 /* @ */ && internalRef.startsWith(name);
}

/** `registry/repository` of an internal reference (its part before `@`). */
function internalName(internalRef: string): string {
  return internalRef.split('@')[0];
}

/**
 * Whether `a` was approved after `held`. Unknown or equal times: no, so that the first listed
 * keeps the tag, as the ledger's snapshot lists the newest first.
 */
function approvedAfter(a: ApprovedEntry, held: ApprovedEntry): boolean {
  return a.approvedAt !== undefined && held.approvedAt !== undefined && Date.parse(a.approvedAt) > Date.parse(held.approvedAt);
}

export class ApprovedSet {
  private teams = new Map<string, TeamIndex>();
  /** Whether the ledger's tag index was loaded: then it alone says which approval a tag names. */
  private indexed = false;

  /**
   * Replaces everything (a full load). `approvedTags`: the ledger's tag index; without it a tag
   * goes to the newest approval (by `approvedAt`) that lists it.
   */
  static from(approvals: readonly ApprovedEntry[], revoked: readonly RevokedEntry[], revokedTags: readonly RevokedTag[] = [], approvedTags?: readonly ApprovedTag[]): ApprovedSet {
    const set = new ApprovedSet();
    for (const _ of set.fill(approvals, revoked, revokedTags, approvedTags));
    return set;
  }

  /**
   * {@link from}, `chunk` entries at a time, yielding to the event loop between chunks: building
   * 10,000 approvals at once held every review of the replica for tens of milliseconds. The set
   * is the caller's only once whole; the one serving meanwhile is untouched.
   */
  static async build(approvals: readonly ApprovedEntry[], revoked: readonly RevokedEntry[], chunk = 500, revokedTags: readonly RevokedTag[] = [], approvedTags?: readonly ApprovedTag[]): Promise<ApprovedSet> {
    const set = new ApprovedSet();
    let n = 0;
    for (const _ of set.fill(approvals, revoked, revokedTags, approvedTags)) {
      n += 1;
      if (n % chunk === 0) await new Promise<void>((resolve) => setImmediate(resolve));
    }
    return set;
  }

  /** The one way a set is filled, an entry per step: revocations and the tag index first, so that approvals find them. */
  private *fill(approvals: readonly ApprovedEntry[], revoked: readonly RevokedEntry[], revokedTags: readonly RevokedTag[], approvedTags: readonly ApprovedTag[] | undefined): Generator<void> {
    for (const r of revoked) {
      this.noteRevoked(r);
      yield;
    }
    if (approvedTags) {
      this.indexed = true;
      for (const at of approvedTags) {
        this.team(at.team).tagIndex.set(`${at.image}:${at.tag}`, at.digest);
        yield;
      }
    }
    for (const a of approvals) {
      this.add(a);
      yield;
    }
    for (const rt of revokedTags) {
      this.noteRevokedTag(rt);
      yield;
    }
  }

  private team(team: string): TeamIndex {
    let t = this.teams.get(team);
    if (!t) {
      t = { byDigest: new Map(), byTag: new Map(), tagIndex: new Map(), revoked: new Map(), revokedTags: new Map() };
      this.teams.set(team, t);
    }
    return t;
  }

  add(a: ApprovedEntry): void {
    const t = this.team(a.team);
    const name = internalName(a.internalRef);
    // The team's deny-list wins over an approval of the same digest and name (a snapshot read
    // while a revocation ran may hold both): its digest keys stay empty, so that every digest
    // lookup, the pinned one too, finds the revocation; its tags still answer REVOKED (lookup).
    if (!this.revokedFor(t, a.digest, a.image)) {
      this.setDigest(t, `${a.image}@${a.digest}`, a);
      this.setDigest(t, `${name}@${a.digest}`, a);
    }
    // A platform-selected approval answers no tag: an all-platform pull of the tag is another image.
    if (a.platforms && a.platforms.length > 0) return;
    for (const tag of a.tags) this.claimTag(t, `${a.image}:${tag}`, `${a.image}:${tag}`, a, true);
    if (a.internalTag) this.claimTag(t, `${name}:${a.internalTag}`, `${a.image}:${a.internalTag}`, a, false);
  }

  /**
   * byTag's one writer at load. An approval keeps every tag it was ever given, so a tag moved
   * upstream and approved again is listed by both digests; the snapshot's order decides only between undated ones (it
   * lists the newest first, and the last written used to win: the oldest digest). The ledger's
   * tag index (`indexKey`) decides, as it does for CI: for an upstream tag (`strict`) it alone,
   * so a tag it names no loaded approval of is not approved, as CI says; for the internal tag,
   * which the registry moved at each promotion under it (or, `digest-<hex>`, is the digest's own),
   * the approval the index names if it carries that tag, else the newest. Without the index:
   * the newest approval (`approvedAt`; without one, the first listed, the ledger's newest).
   */
  private claimTag(t: TeamIndex, key: string, indexKey: string, a: ApprovedEntry, strict: boolean): void {
    const owner = this.indexed ? t.tagIndex.get(indexKey) : undefined;
    if (this.indexed && strict) {
      if (owner === a.digest) t.byTag.set(key, a);
      return;
    }
    const held = t.byTag.get(key);
    if (held && owner !== undefined && (held.digest === owner) !== (a.digest === owner)) {
      if (a.digest === owner) t.byTag.set(key, a);
      return;
    }
    if (!held || approvedAfter(a, held)) t.byTag.set(key, a);
  }

  /**
   * byDigest's one writer. Only a canonical `name@digest` answers as written: it is exactly the
   * key the parsed lookup uses for the same string, so the two answer alike (and an approval whose
   * upstream `name@digest` is another's internal reference takes the key, pinned flag and all).
   */
  private setDigest(t: TeamIndex, key: string, a: ApprovedEntry): void {
    t.byDigest.set(key, { entry: a, pinned: key === a.internalRef && isCanonicalPinned(key) });
  }

  private noteRevoked(r: RevokedEntry): TeamIndex {
    const t = this.team(r.team);
    t.revoked.set(r.digest, [...(t.revoked.get(r.digest) ?? []), r]);
    return t;
  }

  private noteRevokedTag(rt: RevokedTag): void {
    this.team(rt.team).revokedTags.set(`${rt.image}:${rt.tag}`, rt.digest);
  }

  /**
   * A revocation heard on the channel: takes effect at once, before any reload. The tags it
   * drops (upstream and internal) keep the digest they named, as the ledger's revoked-tag keys
   * do, so that a Pod naming one is told REVOKED, not NOT_APPROVED.
   */
  revoke(r: RevokedEntry): void {
    const t = this.noteRevoked(r);
    const hit = (a: ApprovedEntry) => a.digest === r.digest && (!r.image || a.image === r.image);
    for (const [k, slot] of t.byDigest) if (hit(slot.entry)) t.byDigest.delete(k);
    for (const [k, a] of t.byTag) {
      if (!hit(a)) continue;
      t.byTag.delete(k);
      t.revokedTags.set(k, a.digest);
    }
  }

  private revokedFor(t: TeamIndex, digest: string, image: string): RevokedEntry | undefined {
    return t.revoked.get(digest)?.find((r) => !r.image || r.image === image);
  }

  get size(): number {
    let n = 0;
    for (const t of this.teams.values()) {
      // An approval sits under two keys (upstream and internal name), or one when they coincide.
      const entries = new Set<ApprovedEntry>();
      for (const slot of t.byDigest.values()) entries.add(slot.entry);
      n += entries.size;
    }
    return n;
  }

  /**
   * The approval `image` is, when it is written exactly as an approved internal reference of
   * `team` (not revoked): what {@link lookup} answers as approved, internal and pinned, found
   * without parsing. Anything else (undefined) takes the parsed lookup.
   */
  pinned(team: string, image: string): ApprovedEntry | undefined {
    const slot = this.teams.get(team)?.byDigest.get(image);
    return slot?.pinned ? slot.entry : undefined;
  }

  /** What `image` (as written in a container spec) is for `team`. */
  lookup(team: string, image: string | ImageRef | KeyedRef): Lookup {
    const ref = typeof image === 'string' ? parseReference(image) : image;
    const t = this.teams.get(team);
    if (!t) return { kind: 'unknown' };
    const keyed = 'name' in ref ? (ref as KeyedRef) : undefined;
    const name = keyed?.name ?? `${ref.registry}/${ref.repository}`;
    if (ref.digest) {
      const entry = t.byDigest.get(keyed?.key ?? `${name}@${ref.digest}`)?.entry;
      if (entry) return { kind: 'approved', entry, pinned: true, internal: isInternalName(entry.internalRef, name) };
      // Not approved under this name; if the digest is revoked in the team, say so (both deny).
      const all = t.revoked.get(ref.digest);
      const revoked = all?.find((r) => !r.image || r.image === name) ?? all?.[0];
      return revoked ? { kind: 'revoked', revoked } : { kind: 'unknown' };
    }
    if (!ref.tag) return { kind: 'unknown' };
    const key = keyed?.key ?? `${name}:${ref.tag}`;
    const entry = t.byTag.get(key);
    if (!entry) {
      // Not approved: a tag a revocation dropped says so while its digest stays revoked (lifted,
      // the tag is merely unknown).
      const digest = t.revokedTags.get(key);
      const all = digest === undefined ? undefined : t.revoked.get(digest);
      const revoked = all?.find((r) => !r.image || r.image === name) ?? all?.[0];
      return revoked ? { kind: 'revoked', revoked } : { kind: 'unknown' };
    }
    const revoked = this.revokedFor(t, entry.digest, entry.image);
    if (revoked) return { kind: 'revoked', revoked };
    return { kind: 'approved', entry, pinned: false, internal: isInternalName(entry.internalRef, name) };
  }
}
