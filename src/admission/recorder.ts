/**
 * The admission ledger's writer in the webhook process (issue 16.4). A review never waits on it:
 * `record` only appends to a bounded in-memory buffer (a full buffer drops the record and counts
 * it, it never blocks or grows), and a timer writes the buffer to Redis in batches. Both webhooks'
 * decisions are recorded: validation's admissions and denials, and mutation's rewrites (or why it
 * made none), for the stream of recent decisions; which of them say a workload runs a digest is
 * the ledger's call (ledger-store.ts: Pods the validating webhook admitted). Of a mutation, only
 * what validation cannot say is recorded: an image already pinned (`approved`), exempt, unmapped
 * or unchanged is recorded with the same verdict by the validation of the same Pod, which the API
 * server always runs after it; recording it twice cost every Pod a second pass for nothing.
 * Repeated identical allows are sampled: at most one record per (endpoint, namespace, workload,
 * digest) per `sampleMs` (the verdict and image too when it is not a plain approved digest),
 * since a Deployment's Pods are admitted again and again with the same images.
 */
import type { Logger } from '../lib/logger';
import type { Decision, Verdict } from './decide';
import type { AdmissionRequest } from './review';

/** One image of one decision. */
export interface AdmissionRecord {
  /** Epoch ms of the decision. */
  at: number;
  /** Which webhook decided: `validate` admits or denies; `mutate` always admits, and pins. */
  endpoint: 'mutate' | 'validate';
  namespace: string;
  /** The reviewed object's kind and name (a Pod's name may be generated: then its `generateName`). */
  kind: string;
  name: string;
  /** The workload it belongs to: a Pod's controlling owner (ReplicaSet → Deployment), else itself. */
  workload: { kind: string; name: string };
  team?: string;
  image: string;
  digest?: string;
  allowed: boolean;
  /**
   * The image's verdict (`approved`, `NOT_APPROVED`, `REVOKED`, `EXCEPTION`, `EXEMPT`, …); for
   * mutate, `PINNED` (rewritten to `pinnedTo`), `approved` (already pinned), or why it was not.
   */
  reason: string;
  exception?: string;
  /** The approved internal reference mutate rewrote `image` to. */
  pinnedTo?: string;
}

/** Where batches go (Redis in production). */
export interface RecordSink {
  write(records: readonly AdmissionRecord[]): Promise<void>;
}

export interface RecorderOptions {
  /** Records held at most while Redis is slow or away; beyond, new ones are dropped (counted). @defaultValue 10000 */
  bufferSize: number;
  /** Records per write. @defaultValue 500 */
  batchSize: number;
  /** Interval of the writes. @defaultValue 1000 */
  flushMs: number;
  /** One identical allow per (namespace, workload, digest) per this long. @defaultValue 300000 */
  sampleMs: number;
  now?: () => number;
}

export type RecordOutcome = 'written' | 'sampled' | 'dropped' | 'failed';

type Obj = Record<string, unknown>;
const isObj = (v: unknown): v is Obj => typeof v === 'object' && v !== null && !Array.isArray(v);
const str = (v: unknown): string | undefined => (typeof v === 'string' && v.length > 0 ? v : undefined);

/** Verdicts of mutate that the validation of the same Pod records as they are: not recorded twice. */
const VALIDATION_SAYS: ReadonlySet<Verdict> = new Set<Verdict>(['approved', 'EXEMPT', 'UNMAPPED', 'UNCHANGED']);

/** The workload a reviewed object belongs to. A Deployment's ReplicaSet is named `<deployment>-<pod-template-hash>`. */
export function workloadOf(req: AdmissionRequest): { kind: string; name: string; objectName: string } {
  const meta = isObj(req.object) && isObj(req.object.metadata) ? req.object.metadata : {};
  const objectName = str(req.name) ?? str(meta.name) ?? str(meta.generateName) ?? '';
  const kind = req.kind.kind;
  if (kind !== 'Pod') return { kind, name: objectName, objectName };
  const owners = Array.isArray(meta.ownerReferences) ? meta.ownerReferences : [];
  const owner = owners.find((o): o is Obj => isObj(o) && o.controller === true) ?? owners.find(isObj);
  const ownerKind = owner && str(owner.kind);
  const ownerName = owner && str(owner.name);
  if (!ownerKind || !ownerName) return { kind, name: objectName, objectName };
  const hash = isObj(meta.labels) ? str(meta.labels['pod-template-hash']) : undefined;
  if (ownerKind === 'ReplicaSet' && hash && ownerName.endsWith(`-${hash}`)) return { kind: 'Deployment', name: ownerName.slice(0, -hash.length - 1), objectName };
  return { kind: ownerKind, name: ownerName, objectName };
}

export class AdmissionRecorder {
  private buffer: AdmissionRecord[] = [];
  private lastSeen = new Map<string, Map<string, number>>();
  private sampledKeys = 0;
  private timer: NodeJS.Timeout | null = null;
  private flushing: Promise<void> | null = null;
  private readonly now: () => number;

  constructor(
    private readonly sink: RecordSink,
    private readonly options: RecorderOptions,
    private readonly observe: (outcome: RecordOutcome, n: number) => void,
    private readonly logger: Logger,
  ) {
    this.now = options.now ?? Date.now;
  }

  /** Notes a decision of `endpoint`; synchronous, never throws, never waits. */
  record(req: AdmissionRequest, d: Decision, endpoint: 'mutate' | 'validate' = 'validate'): void {
    const images = endpoint === 'mutate' ? d.images.filter((i) => !VALIDATION_SAYS.has(i.verdict)) : d.images;
    if (images.length === 0) return;
    const at = this.now();
    const w = workloadOf(req);
    const namespace = req.namespace ?? '';
    // Sampling state per workload, then per digest (or image): short keys, and digest strings
    // that come from the approved set keep their hash, so a sampled allow costs two lookups.
    let seen: Map<string, number> | undefined;
    let sampled = 0;
    if (d.allowed) {
      // A namespace never holds ':', so the two webhooks' keys never meet.
      const workloadKey = endpoint === 'validate' ? `${namespace}/${w.kind}/${w.name}` : `mutate:${namespace}/${w.kind}/${w.name}`;
      seen = this.lastSeen.get(workloadKey);
      if (!seen) {
        if (this.sampledKeys >= 100_000) this.resetSampling();
        seen = new Map();
        this.lastSeen.set(workloadKey, seen);
      }
    }
    for (const i of images) {
      const digest = i.digest ?? digestOf(i.image);
      if (seen) {
        // Identical means the same verdict too: a break-glass admission or a rewrite of a tag to
        // another digest is never hidden behind an earlier plain allow of the same digest.
        const key = i.verdict === 'approved' && digest ? digest : `${i.verdict}\n${i.image}\n${digest ?? ''}\n${i.pinnedTo ?? ''}`;
        const last = seen.get(key);
        if (last !== undefined && at - last < this.options.sampleMs) {
          sampled += 1;
          continue;
        }
        // A dropped record is not seen: the next identical allow is recorded, not sampled away.
        if (this.buffer.length < this.options.bufferSize) {
          if (last === undefined) this.sampledKeys += 1;
          seen.set(key, at);
        }
      }
      if (this.buffer.length >= this.options.bufferSize) {
        this.observe('dropped', 1);
        continue;
      }
      this.buffer.push({
        at, endpoint, namespace, kind: req.kind.kind, name: w.objectName, workload: { kind: w.kind, name: w.name }, ...(d.team ? { team: d.team } : {}),
        image: i.image, ...(digest ? { digest } : {}), allowed: d.allowed, reason: i.verdict, ...(i.exception ? { exception: i.exception } : {}),
        ...(i.pinnedTo ? { pinnedTo: i.pinnedTo } : {}),
      });
    }
    if (sampled > 0) this.observe('sampled', sampled);
  }

  /** Bounded memory: past 100k (workload, digest) pairs, sampling starts over (a few repeated records, no growth). */
  private resetSampling(): void {
    this.lastSeen = new Map();
    this.sampledKeys = 0;
  }

  start(): void {
    this.timer = setInterval(() => { void this.flush(); }, this.options.flushMs);
    this.timer.unref();
  }

  /** Writes what is buffered, batch by batch; a failed batch is counted and dropped (the review is long answered). */
  flush(): Promise<void> {
    if (!this.flushing) this.flushing = this.drain().finally(() => { this.flushing = null; });
    return this.flushing;
  }

  private async drain(): Promise<void> {
    while (this.buffer.length > 0) {
      const batch = this.buffer.splice(0, this.options.batchSize);
      try {
        await this.sink.write(batch);
        this.observe('written', batch.length);
      } catch (err) {
        this.observe('failed', batch.length);
        this.logger.warn({ error: err, records: batch.length }, 'could not write admission records: dropped');
        return;
      }
    }
  }

  get buffered(): number {
    return this.buffer.length;
  }

  /** Stops the timer and writes what is left (shutdown). */
  async stop(): Promise<void> {
    if (this.timer) clearInterval(this.timer);
    await this.flush();
  }
}

/** The digest a reference pins (`…@sha256:…`), for images judged without a lookup (UNCHANGED, EXEMPT). */
function digestOf(image: string): string | undefined {
  const at = image.lastIndexOf('@');
  const digest = at === -1 ? undefined : image.slice(at + 1);
  return digest && /^sha(256:[a-f0-9]{64}|512:[a-f0-9]{128})$/.test(digest) ? digest : undefined;
}
