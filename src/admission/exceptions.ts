/**
 * Break-glass exceptions as one webhook replica holds them: an admin of a team lets one image
 * (by digest, or by name and tag: then only a reference without a digest, `name:tag`) run in the team's namespaces, or one of them, until an expiry
 * at most 24 h ahead, with a reason. The replica decides on its own clock: an exception past its
 * `expires` is ignored at once, whatever Redis still holds (a key's TTL is no decision).
 */
import type { ImageRef } from '../registry';

/** One exception, as stored and as announced to the replicas. */
export interface AdmissionException {
  /** 16 hex characters. */
  id: string;
  team: string;
  /** `registry/repository` (normalized) of an exception granted by image reference. */
  image?: string;
  /** The tag of that reference, when it named one: only that tag is excepted, written without a digest. */
  tag?: string;
  /** `sha256:…`: only this digest is excepted (under any name, or under `image` when both are set). */
  digest?: string;
  /** Only this namespace (it maps to `team`); absent: every namespace of the team. */
  namespace?: string;
  reason: string;
  /** ISO 8601; the exception is ignored from this instant on. */
  expires: string;
  by: string;
  at: string;
}

/** The longest an exception may last: break glass for an incident, not a standing waiver. */
export const MAX_EXCEPTION_MS = 24 * 3600 * 1000;

/** Whether `e` covers an image `ref` run in `namespace`, at `now` (ms). */
export function covers(e: AdmissionException, namespace: string, ref: ImageRef, now: number): boolean {
  if (Date.parse(e.expires) <= now) return false;
  if (e.namespace !== undefined && e.namespace !== namespace) return false;
  if (e.digest !== undefined && ref.digest !== e.digest) return false;
  if (e.image !== undefined) {
    if (`${ref.registry}/${ref.repository}` !== e.image) return false;
    if (e.tag !== undefined && ref.tag !== e.tag) return false;
    // `name:tag@digest` runs the digest, whatever the tag names: an exception granted by tag
    // (which records no digest) excepts what the tag pulls, never a digest written beside it.
    if (e.tag !== undefined && e.digest === undefined && ref.digest !== undefined) return false;
  }
  return e.digest !== undefined || e.image !== undefined;
}

/** The team's exceptions, replaced on every load and changed by announcements in between. */
export class ExceptionSet {
  private readonly byTeam = new Map<string, Map<string, AdmissionException>>();

  static from(exceptions: readonly AdmissionException[]): ExceptionSet {
    const set = new ExceptionSet();
    for (const e of exceptions) set.add(e);
    return set;
  }

  add(e: AdmissionException): void {
    let team = this.byTeam.get(e.team);
    if (!team) {
      team = new Map();
      this.byTeam.set(e.team, team);
    }
    team.set(e.id, e);
  }

  remove(team: string, id: string): void {
    this.byTeam.get(team)?.delete(id);
  }

  get size(): number {
    let n = 0;
    for (const t of this.byTeam.values()) n += t.size;
    return n;
  }

  /** The exception that lets `ref` run in `namespace` of `team` now, if any (the latest expiry wins). */
  match(team: string, namespace: string, ref: ImageRef, now: number): AdmissionException | undefined {
    const t = this.byTeam.get(team);
    if (!t || t.size === 0) return undefined;
    let best: AdmissionException | undefined;
    for (const e of t.values()) {
      if (covers(e, namespace, ref, now) && (!best || e.expires > best.expires)) best = e;
    }
    return best;
  }
}
