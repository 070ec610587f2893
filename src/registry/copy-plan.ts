/**
 * Reading what a copy has to move: the root manifest, its children (for an index), and the
 * set of distinct blobs. An index that refers to itself or to one of its ancestors is
 * refused (it would never finish), as is nesting deeper than {@link MAX_DEPTH}. Every manifest
 * read is charged to one {@link ManifestBudget}: an index of many large children is refused
 * (MANIFEST_TOO_LARGE) before their bodies and layer lists fill the heap.
 */
import { AppError, toAppError } from '../lib/errors';
import { distinctChildren, judgeChild, unscannableMessage } from './children';
import { parsedManifest, type ParsedManifest } from './manifest';
import { ManifestBudget } from './manifest-budget';
import { formatPlatform, parsePlatform, platformMatches } from './platform';
import type { Descriptor, ManifestResponse, Platform, RegistryClient } from './types';
import { digestOf, mismatch } from './verify';

/** Indexes of indexes exist (e.g. nested attestation indexes) but never this deep. */
export const MAX_DEPTH = 4;

/** One manifest to write, children before parents. */
export interface PlannedManifest {
  sourceDigest: string;
  /** The digest it has at the destination (differs only for a rewritten index). */
  digest: string;
  mediaType: string;
  body: Buffer;
  platform?: Platform;
  kind: ParsedManifest['kind'];
}

export interface CopyPlan {
  /** In write order; the last one is the root, written under the tag. */
  manifests: PlannedManifest[];
  blobs: Descriptor[];
  sourceDigest: string;
  mapping: Record<string, string>;
}

export type Fetch = <T>(what: string, fn: () => Promise<T>) => Promise<T>;

export interface PlanOptions {
  platforms?: Array<string | Platform>;
  writeIndex?: boolean;
  /**
   * Judge every child of an index by its content (./children.ts) before anything is copied:
   * `fail` refuses an index with a child that is neither a scannable image nor provably inert
   * (`UNSCANNABLE_CHILD`); `drop` leaves such children out of a new index (a new digest).
   * @defaultValue unset: every child is copied as it is (the `portcullis copy` tool, promotion)
   */
  unscannableChildren?: 'fail' | 'drop';
}

/** Blobs a registry cannot serve: foreign layers live at their `urls` (Windows base layers). */
function distributable(d: Descriptor): boolean {
  return !(d.urls?.length && /foreign|nondistributable/.test(d.mediaType));
}

export async function planCopy(client: RegistryClient, repository: string, reference: string, opts: PlanOptions, fetch: Fetch): Promise<CopyPlan> {
  const budget = new ManifestBudget(`${repository}@${reference}`);
  // Charged once per fetch (after its retries), so a cached child is not counted twice.
  const readManifest = async (ref: string): Promise<ManifestResponse> => {
    const m = await fetch(`manifest ${ref}`, () => client.getManifest(repository, ref));
    budget.readBytes(m.digest, m.body.length);
    return m;
  };
  const root = await readManifest(reference);
  const manifests: PlannedManifest[] = [];
  const blobs = new Map<string, Descriptor>();
  const seen = new Set<string>();
  const mapping: Record<string, string> = {};
  // Children read while judging them are not read a second time while planning.
  const read = new Map<string, ManifestResponse>();
  const getChild = (digest: string): Promise<ManifestResponse> => {
    const cached = read.get(digest);
    return cached ? Promise.resolve(cached) : readManifest(digest);
  };

  const visit = async (m: ManifestResponse, parsed: ParsedManifest, ancestors: string[], platform?: Platform): Promise<void> => {
    if (parsed.kind === 'image') {
      budget.keptLayers(m.digest, parsed);
      for (const d of [parsed.config, ...parsed.layers]) if (distributable(d) && !blobs.has(d.digest)) blobs.set(d.digest, d);
    } else {
      if (ancestors.length >= MAX_DEPTH) throw new AppError('MANIFEST_INVALID', `index ${m.digest}: nested more than ${MAX_DEPTH} levels deep`);
      for (const child of parsed.manifests) {
        if (child.digest === m.digest || ancestors.includes(child.digest)) {
          throw new AppError('MANIFEST_INVALID', `index ${m.digest} refers to itself (through ${child.digest}): refused`);
        }
        if (seen.has(child.digest)) continue;
        const body = await getChild(child.digest).catch((err: unknown) => {
          // A registry serving an ancestor's bytes for a child is an index pointing at itself.
          const got = (err as AppError).details?.got;
          if (typeof got === 'string' && (got === m.digest || ancestors.includes(got))) {
            throw new AppError('MANIFEST_INVALID', `index ${m.digest} refers to itself: its child ${child.digest} is served as the index`);
          }
          throw err;
        });
        if (body.size !== child.size) throw mismatch(`manifest ${child.digest}: ${body.size} bytes, the index says ${child.size}`, { digest: child.digest });
        await visit(body, parsedManifest(body, `manifest ${child.digest}`), [...ancestors, m.digest], child.platform);
      }
    }
    if (seen.has(m.digest)) return;
    seen.add(m.digest);
    manifests.push({ sourceDigest: m.digest, digest: m.digest, mediaType: m.mediaType, body: m.body, platform, kind: parsed.kind });
  };

  let parsed = parsedManifest(root, `manifest ${reference}`);
  let top: ManifestResponse = root;
  let topPlatform: Platform | undefined;
  if (parsed.kind === 'index' && opts.platforms?.length) {
    const wanted = opts.platforms.map((p) => (typeof p === 'string' ? parsePlatform(p) : p));
    const selected = parsed.manifests.filter((d) => wanted.some((w) => platformMatches(w, d.platform)));
    const available = parsed.manifests.map((d) => formatPlatform(d.platform));
    // Every platform asked for must be there: silently staging fewer than requested would
    // hand CI an image its clusters cannot run.
    const missing = wanted.filter((w) => !selected.some((d) => platformMatches(w, d.platform)));
    if (selected.length === 0 || missing.length) {
      throw new AppError('PLATFORM_NOT_FOUND', `${reference} has no image for ${(missing.length ? missing : wanted).map(formatPlatform).join(', ')} (it has ${available.join(', ')})`, { details: { available } });
    }
    if (opts.writeIndex) {
      top = rewriteIndex(root, selected);
      parsed = { kind: 'index', mediaType: parsed.mediaType, manifests: selected };
    } else {
      if (selected.length > 1) {
        throw new AppError('INVALID_REQUEST', `${selected.length} images of ${reference} match; select one platform, or ask for a new index (writeIndex)`);
      }
      topPlatform = selected[0].platform;
      top = await readManifest(selected[0].digest);
      parsed = parsedManifest(top, `manifest ${selected[0].digest}`);
      if (parsed.kind !== 'image') throw new AppError('MANIFEST_UNSUPPORTED', `${selected[0].digest}: the selected platform is itself an index`);
    }
    mapping[root.digest] = top.digest;
  }
  if (parsed.kind === 'index' && opts.unscannableChildren) {
    const kept = await judgeChildren(parsed.manifests, top.digest, opts.unscannableChildren, async (digest) => {
      const m = await getChild(digest);
      read.set(digest, m);
      return m;
    });
    if (kept.length < parsed.manifests.length) {
      top = rewriteIndex(top, kept);
      parsed = { kind: 'index', mediaType: parsed.mediaType, manifests: kept };
      mapping[root.digest] = top.digest;
    }
  }
  await visit(top, parsed, [], topPlatform);
  // A rewritten index exists only at the destination; it stands for the source's index.
  if (mapping[root.digest] && parsed.kind === 'index') manifests[manifests.length - 1].sourceDigest = root.digest;
  return { manifests, blobs: [...blobs.values()], sourceDigest: root.digest, mapping };
}

/**
 * The children of an index that may be staged: all of them, or (`drop`) those that are
 * scannable images or provably inert. With `fail`, the first other child refuses the index.
 * Each distinct child is read once however often the index lists it.
 */
async function judgeChildren(
  manifests: Descriptor[], index: string, mode: 'fail' | 'drop', read: (digest: string) => Promise<ManifestResponse>,
): Promise<Descriptor[]> {
  const refused = new Set<string>();
  let firstReason = '';
  for (const listing of distinctChildren(manifests, index)) {
    const m = await read(listing.digest);
    let content: ParsedManifest | { error: string };
    try {
      content = parsedManifest(m, `manifest ${listing.digest}`);
    } catch (err) {
      // Only what the bytes say is judged here; a registry fault is still thrown by read().
      content = { error: toAppError(err).message };
    }
    const judged = judgeChild(listing, content);
    if (judged.kind !== 'unscannable') continue;
    const message = unscannableMessage(index, listing.digest, judged.reason);
    if (mode === 'fail') throw new AppError('UNSCANNABLE_CHILD', message, { details: { child: listing.digest } });
    refused.add(listing.digest);
    firstReason ||= message;
  }
  const kept = manifests.filter((d) => !refused.has(d.digest));
  if (kept.length === 0) throw new AppError('UNSCANNABLE_CHILD', `${firstReason}; no child is left to stage`);
  return kept;
}

/**
 * A new index holding only `selected`: every other field of the original is kept, and the
 * selected descriptors are copied as the source wrote them.
 */
function rewriteIndex(root: ManifestResponse, selected: Descriptor[]): ManifestResponse {
  const json = JSON.parse(root.body.toString('utf8')) as { manifests: Array<{ digest: string }> };
  const keep = new Set(selected.map((d) => d.digest));
  json.manifests = json.manifests.filter((d) => keep.has(d.digest));
  const body = Buffer.from(JSON.stringify(json, null, 2));
  return { digest: digestOf(body), mediaType: root.mediaType, size: body.length, body };
}
