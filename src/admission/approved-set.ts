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

export type Lookup =
  | { kind: 'approved'; entry: ApprovedEntry; pinned: boolean; internal: boolean }
  | { kind: 'revoked'; revoked: RevokedEntry }
  | { kind: 'unknown' };

interface TeamIndex {
  /**
   * The approved internal reference exactly as the approval wrote it (`host/approved/…@sha256:…`):
   * what a pinned Pod carries after the mutating webhook, so that the common review is answered by
   * one lookup of the string as written, without parsing it.
   */
  byRef: Map<string, ApprovedEntry>;
  byDigest: Map<string, ApprovedEntry>;
  byTag: Map<string, ApprovedEntry>;
  /** Per digest: its revocations (one per image name, or one for every name). */
  revoked: Map<string, RevokedEntry[]>;
}

/** Whether `internalRef` (`registry/repository@digest`) is of the repository `name`, without splitting it. */
function isInternalName(internalRef: string, name: string): boolean {
  return internalRef.length > name.length && internalRef.charCodeAt(name.length) === 64 /* @ */ && internalRef.startsWith(name);
}

/** `registry/repository` of an internal reference (its part before `@`). */
function internalName(internalRef: string): string {
  return internalRef.split('@')[0];
}

export class ApprovedSet {
  private teams = new Map<string, TeamIndex>();

  /** Replaces everything (a full load). */
  static from(approvals: readonly ApprovedEntry[], revoked: readonly RevokedEntry[]): ApprovedSet {
    const set = new ApprovedSet();
    for (const r of revoked) set.noteRevoked(r);
    for (const a of approvals) set.add(a);
    return set;
  }

  /**
   * {@link from}, `chunk` entries at a time, yielding to the event loop between chunks: building
   * 10,000 approvals at once held every review of the replica for tens of milliseconds. The set
   * is the caller's only once whole; the one serving meanwhile is untouched.
   */
  static async build(approvals: readonly ApprovedEntry[], revoked: readonly RevokedEntry[], chunk = 500): Promise<ApprovedSet> {
    const set = new ApprovedSet();
    const pause = () => new Promise<void>((resolve) => setImmediate(resolve));
    for (let i = 0; i < revoked.length; i += 1) {
      set.noteRevoked(revoked[i]);
      if ((i + 1) % chunk === 0) await pause();
    }
    for (let i = 0; i < approvals.length; i += 1) {
      set.add(approvals[i]);
      if ((i + 1) % chunk === 0) await pause();
    }
    return set;
  }

  private team(team: string): TeamIndex {
    let t = this.teams.get(team);
    if (!t) {
      t = { byRef: new Map(), byDigest: new Map(), byTag: new Map(), revoked: new Map() };
      this.teams.set(team, t);
    }
    return t;
  }

  add(a: ApprovedEntry): void {
    const t = this.team(a.team);
    const name = internalName(a.internalRef);
    this.setDigest(t, `${a.image}@${a.digest}`, a);
    this.setDigest(t, `${name}@${a.digest}`, a);
    // Only a canonical `name@digest` answers as written: it is exactly the key the parsed lookup
    // uses, just set to this entry in byDigest.
    if (a.internalRef.endsWith(a.digest) && isCanonicalPinned(a.internalRef)) t.byRef.set(a.internalRef, a);
    // A platform-selected approval answers no tag: an all-platform pull of the tag is another image.
    if (a.platforms && a.platforms.length > 0) return;
    for (const tag of a.tags) t.byTag.set(`${a.image}:${tag}`, a);
    if (a.internalTag) t.byTag.set(`${name}:${a.internalTag}`, a);
  }

  /**
   * byDigest's one writer: keeps byRef answering only what byDigest answers under the same key
   * (an approval whose upstream `name@digest` is another's internal reference takes the key over).
   * Revocations delete an entry from both, so the two never part.
   */
  private setDigest(t: TeamIndex, key: string, a: ApprovedEntry): void {
    t.byDigest.set(key, a);
    const pinned = t.byRef.get(key);
    if (pinned !== undefined && pinned !== a) t.byRef.delete(key);
  }

  private noteRevoked(r: RevokedEntry): TeamIndex {
    const t = this.team(r.team);
    t.revoked.set(r.digest, [...(t.revoked.get(r.digest) ?? []), r]);
    return t;
  }

  /** A revocation heard on the channel: takes effect at once, before any reload. */
  revoke(r: RevokedEntry): void {
    const t = this.noteRevoked(r);
    const hit = (a: ApprovedEntry) => a.digest === r.digest && (!r.image || a.image === r.image);
    for (const [k, a] of t.byRef) if (hit(a)) t.byRef.delete(k);
    for (const [k, a] of t.byDigest) if (hit(a)) t.byDigest.delete(k);
    for (const [k, a] of t.byTag) if (hit(a)) t.byTag.delete(k);
  }

  private revokedFor(t: TeamIndex, digest: string, image: string): RevokedEntry | undefined {
    return t.revoked.get(digest)?.find((r) => !r.image || r.image === image);
  }

  get size(): number {
    let n = 0;
    for (const t of this.teams.values()) n += new Set(t.byDigest.values()).size;
    return n;
  }

  /**
   * The approval `image` is, when it is written exactly as an approved internal reference of
   * `team` (not revoked): what {@link lookup} answers as approved, internal and pinned, found
   * without parsing. Anything else (undefined) takes the parsed lookup.
   */
  pinned(team: string, image: string): ApprovedEntry | undefined {
    return this.teams.get(team)?.byRef.get(image);
  }

  /** What `image` (as written in a container spec) is for `team`. */
  lookup(team: string, image: string | ImageRef | KeyedRef): Lookup {
    const ref = typeof image === 'string' ? parseReference(image) : image;
    const t = this.teams.get(team);
    if (!t) return { kind: 'unknown' };
    const keyed = 'name' in ref ? (ref as KeyedRef) : undefined;
    const name = keyed?.name ?? `${ref.registry}/${ref.repository}`;
    if (ref.digest) {
      const entry = t.byDigest.get(keyed?.key ?? `${name}@${ref.digest}`);
      if (entry) return { kind: 'approved', entry, pinned: true, internal: isInternalName(entry.internalRef, name) };
      // Not approved under this name; if the digest is revoked in the team, say so (both deny).
      const all = t.revoked.get(ref.digest);
      const revoked = all?.find((r) => !r.image || r.image === name) ?? all?.[0];
      return revoked ? { kind: 'revoked', revoked } : { kind: 'unknown' };
    }
    const entry = ref.tag ? t.byTag.get(keyed?.key ?? `${name}:${ref.tag}`) : undefined;
    if (!entry) return { kind: 'unknown' };
    const revoked = this.revokedFor(t, entry.digest, entry.image);
    if (revoked) return { kind: 'revoked', revoked };
    return { kind: 'approved', entry, pinned: false, internal: isInternalName(entry.internalRef, name) };
  }
}
