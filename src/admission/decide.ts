/**
 * The two admission decisions, as pure functions of a review and the replica's in-memory state.
 *
 * Mutate pins: every container image that names an approved image of the namespace's team (by
 * tag or digest, upstream or internal form) becomes its approved internal reference by digest, so
 * that the kubelet pulls exactly what was approved, not whatever the tag names by then.
 * Validate gates: a Pod is admitted only when every image is an approved, non-revoked digest of
 * the namespace's team in the internal registry; otherwise it is denied naming each image, why,
 * and the command that starts its intake. Workload controllers get warnings only, so that the
 * rollout is refused where the Pod is made, with the same message. On UPDATE only images that
 * changed are judged, per container (same list, same name, same image): a revocation stops new
 * admissions, never running workloads.
 */
import { AppError } from '../lib/errors';
import type { ImageRef } from '../registry';
import type { ApprovedSet, Lookup } from './approved-set';
import type { AdmissionException, ExceptionSet } from './exceptions';
import { containerImages, MalformedObject, WORKLOAD_KINDS, type ContainerImage } from './images';
import type { NamespaceMap } from './namespaces';
import { parsedReference } from './references';
import type { AdmissionRequest, JsonPatchOp } from './review';

export interface AdmissionState {
  set: ApprovedSet;
  namespaces: NamespaceMap;
  /** Set when the replica's view of the ledger is too old to trust: Pods are denied (closed). */
  staleSince?: string;
  /** Break-glass exceptions; none when absent. */
  exceptions?: ExceptionSet;
  /**
   * The replica's clock (epoch ms), against which exceptions expire; read only when an exception
   * is matched, so that one state object serves every review of a loaded set. @defaultValue Date.now
   */
  clock?: () => number;
}

/**
 * Per image: `approved` (an approved internal digest as written; for mutate, nothing to rewrite),
 * `PINNED` (mutate rewrote it to its approved reference), or why it may not run or was not
 * rewritten. `UNMAPPED`: its namespace maps to no team; `STALE`: the replica failed closed.
 */
export type Verdict = 'approved' | 'PINNED' | 'NOT_APPROVED' | 'REVOKED' | 'NOT_PINNED' | 'INVALID_REFERENCE' | 'EXEMPT' | 'UNMAPPED' | 'STALE' | 'UNCHANGED' | 'EXCEPTION';

export interface ImageVerdict {
  image: string;
  verdict: Verdict;
  digest?: string;
  /** The break-glass exception that let it run. */
  exception?: string;
  /** The reference mutate rewrote it to (`PINNED`). */
  pinnedTo?: string;
}

export interface Decision {
  allowed: boolean;
  message?: string;
  warnings?: string[];
  patch?: JsonPatchOp[];
  /** Why, per image, for the admission ledger and logs. */
  team?: string;
  images: ImageVerdict[];
}

function escapePointer(s: string): string {
  return s.replace(/~/g, '~0').replace(/\//g, '~1');
}

function imagesOf(req: AdmissionRequest): ContainerImage[] {
  if (!req.object) throw new AppError('INVALID_REQUEST', 'the review has no object');
  try {
    return containerImages(req.kind.kind, req.object);
  } catch (err) {
    if (err instanceof MalformedObject) throw new AppError('INVALID_REQUEST', `malformed ${req.kind.kind}: ${err.message}`);
    throw err;
  }
}

function lookup(state: AdmissionState, team: string, ref: ImageRef | null): Lookup | { kind: 'invalid' } {
  return ref ? state.set.lookup(team, ref) : { kind: 'invalid' };
}

/** Mutation never denies; it records per image the rewrite it made, or why it made none. */
export function mutate(req: AdmissionRequest, state: AdmissionState): Decision {
  if (req.kind.kind !== 'Pod' || (req.operation !== 'CREATE' && req.operation !== 'UPDATE')) return { allowed: true, images: [] };
  const ns = state.namespaces.resolve(req.namespace ?? '');
  if (ns.kind !== 'team') {
    // Validation decides (exempt: allowed, unmapped: denied); a shape it refuses is not refused here.
    const verdict = ns.kind === 'exempt' ? 'EXEMPT' : 'UNMAPPED';
    return { allowed: true, images: safeImages('Pod', req.object ?? {}).map((image) => ({ image, verdict })) };
  }
  const patch: JsonPatchOp[] = [];
  const images: ImageVerdict[] = [];
  const warnings: string[] = [];
  // On UPDATE an image a container already ran is left as it is: rewriting it (its tag may name
  // another digest by now) would restart a running container on a mere relabelling.
  const before = req.operation === 'UPDATE' && req.oldObject ? imagesBefore('Pod', req.oldObject) : null;
  for (const c of imagesOf(req)) {
    if (before && unchanged(before, c)) {
      images.push({ image: c.image, verdict: 'UNCHANGED' });
      continue;
    }
    const pinned = state.set.pinned(ns.team, c.image);
    if (pinned) {
      images.push({ image: c.image, verdict: 'approved', digest: pinned.digest });
      continue;
    }
    const ref = parsedReference(c.image);
    const found = lookup(state, ns.team, ref);
    if (found.kind === 'approved' && !(found.internal && found.pinned && c.image === found.entry.internalRef)) {
      const to = found.entry.internalRef;
      patch.push({ op: 'replace', path: c.path.split('/').map(escapePointer).join('/'), value: to });
      images.push({ image: c.image, verdict: 'PINNED', digest: found.entry.digest, pinnedTo: to });
      warnings.push(`portcullis pinned ${c.image} to ${to}`);
      continue;
    }
    const digest = found.kind === 'approved' ? found.entry.digest : found.kind === 'revoked' ? found.revoked.digest : ref?.digest;
    const verdict: Verdict = found.kind === 'approved' ? 'approved' : found.kind === 'revoked' ? 'REVOKED' : found.kind === 'invalid' ? 'INVALID_REFERENCE' : 'NOT_APPROVED';
    images.push({ image: c.image, verdict, ...(digest ? { digest } : {}) });
  }
  return { allowed: true, team: ns.team, images, ...(patch.length ? { patch, warnings } : {}) };
}

function requestCommand(image: string, team: string): string {
  return `portcullis request ${image} --team ${team} --justification "..."`;
}

/** Why one image may not run, in words, or null when it may. */
function judge(state: AdmissionState, team: string, c: ContainerImage, ref: ImageRef | null): { verdict: Verdict; why?: string; digest?: string } {
  const found = lookup(state, team, ref);
  if (found.kind === 'approved' && found.internal && found.pinned) return { verdict: 'approved', digest: found.entry.digest };
  const what = `container ${c.name} image ${c.image}`;
  switch (found.kind) {
    case 'invalid':
      return { verdict: 'INVALID_REFERENCE', why: `${what}: INVALID_REFERENCE, not an image reference` };
    case 'revoked': {
      const r = found.revoked;
      return { verdict: 'REVOKED', digest: r.digest, why: `${what}: REVOKED for team ${team} by ${r.by} at ${r.at}: ${r.reason}` };
    }
    case 'unknown':
      return { verdict: 'NOT_APPROVED', why: `${what}: NOT_APPROVED for team ${team}; start its intake with: ${requestCommand(c.image, team)}` };
    case 'approved':
      return { verdict: 'NOT_PINNED', digest: found.entry.digest, why: `${what}: NOT_PINNED; use the approved reference ${found.entry.internalRef}` };
  }
}

export function validate(req: AdmissionRequest, state: AdmissionState): Decision {
  const kind = req.kind.kind;
  const workload = WORKLOAD_KINDS.has(kind);
  if ((kind !== 'Pod' && !workload) || (req.operation !== 'CREATE' && req.operation !== 'UPDATE')) return { allowed: true, images: [] };
  const namespace = req.namespace ?? '';
  const ns = state.namespaces.resolve(namespace);
  const images = imagesOf(req);
  if (ns.kind === 'exempt') {
    return { allowed: true, images: images.map((c) => ({ image: c.image, verdict: 'EXEMPT' as const })), warnings: [`namespace ${namespace} is exempt from Portcullis image checks; this admission is recorded`] };
  }
  if (ns.kind === 'unmapped') {
    const message = `namespace ${namespace} maps to no Portcullis team (webhook.namespaces): denied`;
    const unmapped = images.map((c) => ({ image: c.image, verdict: 'UNMAPPED' as const }));
    return workload ? { allowed: true, warnings: [message], images: unmapped } : { allowed: false, message, images: unmapped };
  }
  if (state.staleSince) {
    const message = `Portcullis cannot confirm approvals: this replica has not heard from the ledger since ${state.staleSince} (failing closed)`;
    const stale = images.map((c) => ({ image: c.image, verdict: 'STALE' as const }));
    return workload ? { allowed: true, warnings: [message], team: ns.team, images: stale } : { allowed: false, message, team: ns.team, images: stale };
  }
  const before = req.operation === 'UPDATE' && req.oldObject ? imagesBefore(kind, req.oldObject) : null;
  const verdicts: ImageVerdict[] = [];
  const problems: string[] = [];
  const excepted: string[] = [];
  for (const c of images) {
    if (before && unchanged(before, c)) {
      verdicts.push({ image: c.image, verdict: 'UNCHANGED' });
      continue;
    }
    // The common case, an approved internal digest as the mutating webhook wrote it: one lookup.
    const pinned = state.set.pinned(ns.team, c.image);
    if (pinned) {
      verdicts.push({ image: c.image, verdict: 'approved', digest: pinned.digest });
      continue;
    }
    const ref = parsedReference(c.image);
    const j = judge(state, ns.team, c, ref);
    const exception = j.why && ref && state.exceptions ? state.exceptions.match(ns.team, namespace, ref, (state.clock ?? Date.now)()) : undefined;
    const digest = j.digest ?? ref?.digest;
    if (exception) {
      verdicts.push({ image: c.image, verdict: 'EXCEPTION', exception: exception.id, ...(digest ? { digest } : {}) });
      excepted.push(breakGlassWarning(c, exception, j.verdict));
      continue;
    }
    verdicts.push({ image: c.image, verdict: j.verdict, ...(digest ? { digest } : {}) });
    if (j.why) problems.push(j.why);
  }
  if (problems.length === 0) return { allowed: true, team: ns.team, images: verdicts, ...(excepted.length ? { warnings: excepted } : {}) };
  // A Pod made from generateName has no name yet at admission: say "Pod in namespace …", not "Pod  in …".
  const what = req.name ? `${kind} ${req.name}` : kind;
  if (workload) return { allowed: true, team: ns.team, images: verdicts, warnings: [...excepted, ...problems.map((p) => `${what}: ${p} (its Pods will be denied)`)] };
  return { allowed: false, team: ns.team, images: verdicts, message: `Portcullis denied ${what} in namespace ${namespace}: ${problems.join('; ')}` };
}

/** What the API server shows the user (kubectl prints warnings): which exception, why, until when. */
function breakGlassWarning(c: ContainerImage, e: AdmissionException, verdict: Verdict): string {
  return `container ${c.name} image ${c.image} (${verdict}) admitted by break-glass exception ${e.id} of team ${e.team}, granted by ${e.by}: "${e.reason}"; it expires at ${e.expires}`;
}

/** A container's identity across an UPDATE: its list and its name (unique per Pod across the lists). */
function slot(c: ContainerImage): string {
  return `${c.list}\u0000${c.name}`;
}

/** The image each container of the old object ran, by {@link slot}; empty for a shape that is not one. */
function imagesBefore(kind: string, object: Record<string, unknown>): Map<string, string> {
  try {
    return new Map(containerImages(kind, object).map((c) => [slot(c), c.image]));
  } catch {
    return new Map();
  }
}

/**
 * Whether this very container ran this image before the UPDATE. Not "any container ran it": a
 * new (ephemeral, kubectl debug) container, or another container switched to an image its
 * neighbour runs, is a new admission of that image and judged as one.
 */
function unchanged(before: ReadonlyMap<string, string>, c: ContainerImage): boolean {
  return before.get(slot(c)) === c.image;
}

function safeImages(kind: string, object: Record<string, unknown>): string[] {
  try {
    return containerImages(kind, object).map((c) => c.image);
  } catch {
    return [];
  }
}
