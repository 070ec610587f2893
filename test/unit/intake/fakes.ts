/** In-memory stand-ins for the intake services' ports, for unit tests of the services alone. */
import type { ScanReport } from '../../../src/scanners/types';
import type { Finding } from '../../../src/scanners/types';
import type { IntakeRegistry, StageResult } from '../../../src/intake/ports';
import type { ImageRef } from '../../../src/registry/reference';
import type { RegistryClient } from '../../../src/registry/types';
import { findApproval } from '../../../src/intake/ledger';
import { platformKey, requestSummary } from '../../../src/store/types';
import type { Approval, ApprovalScope, ApprovalStore, ExpectedApproval, KeptImage, LookedUpApproval, Revocation, RevocationIntent, RevocationRead, RevocationStore, RevokeChange, CodeScanRecord, IntakeRequest, ListQuery, OutboxRecord, Page, RequestSummary, RequestStatus, RequestStore, SaveOptions, ScanResultStore, TransitionResult } from '../../../src/store/types';

export class MemoryRequestStore implements RequestStore {
  readonly items = new Map<string, IntakeRequest>();
  /** The audit records committed with each save, in order (the Redis store's outbox). */
  readonly outbox: OutboxRecord[] = [];
  async create(r: IntakeRequest, options: SaveOptions = {}): Promise<void> {
    const saved = { ...structuredClone(r), version: 1 };
    this.items.set(r.id, saved);
    this.outbox.push(...(options.records?.(saved, r) ?? []));
  }
  async get(id: string): Promise<IntakeRequest | null> { const r = this.items.get(id); return r ? structuredClone(r) : null; }
  async update(id: string, change: (r: IntakeRequest) => IntakeRequest | null, options: SaveOptions = {}): Promise<IntakeRequest> {
    const cur = await this.get(id);
    if (!cur) throw new Error('not found');
    const next = change(structuredClone(cur));
    if (!next) return cur;
    const saved = { ...next, version: cur.version + 1 };
    this.items.set(id, structuredClone(saved));
    this.outbox.push(...(options.records?.(saved, cur) ?? []));
    return saved;
  }
  async transition(id: string, from: readonly RequestStatus[], to: RequestStatus | ((r: IntakeRequest) => RequestStatus),
    build: (r: IntakeRequest) => IntakeRequest, options: SaveOptions = {}): Promise<TransitionResult> {
    const cur = await this.get(id);
    if (!cur) throw new Error('not found');
    if (!from.includes(cur.status)) return { moved: false, request: cur };
    const status = typeof to === 'function' ? to(structuredClone(cur)) : to;
    const saved = { ...build(structuredClone(cur)), status, version: cur.version + 1 };
    this.items.set(id, structuredClone(saved));
    this.outbox.push(...(options.records?.(saved, cur) ?? []));
    return { moved: true, request: saved, from: cur.status };
  }
  async list(_q: ListQuery): Promise<Page<RequestSummary>> { return { items: [...this.items.values()].map(requestSummary), next: null }; }
  async count(team: string, status: RequestStatus): Promise<number> { return [...this.items.values()].filter((r) => r.team === team && r.status === status).length; }
  async claim(): Promise<string | null> { return null; }
  async release(): Promise<void> { /* no claims kept */ }
  async idsByDigest(team: string, digest: string): Promise<string[]> {
    return [...this.items.values()].filter((r) => (team === '*' || r.team === team) && (r.source.digest === digest || r.stagedDigest === digest)).map((r) => r.id).sort();
  }
  async delete(r: IntakeRequest, options: SaveOptions = {}): Promise<boolean> {
    if (this.items.get(r.id)?.version !== r.version) return false;
    this.items.delete(r.id);
    this.outbox.push(...(options.records?.(r, r) ?? []));
    return true;
  }
}

export class MemoryScanResults implements ScanResultStore {
  readonly items = new Map<string, ScanReport>();
  async get(scanner: string, digest: string): Promise<ScanReport | null> { return this.items.get(`${scanner}|${digest}`) ?? null; }
  async put(digest: string, report: ScanReport): Promise<void> { this.items.set(`${report.scanner}|${digest}`, report); }
}

export function finding(over: Partial<Finding> = {}): Finding {
  return {
    id: 'CVE-2024-0001', aliases: ['GHSA-aaaa-bbbb-cccc'], kind: 'vulnerability', package: 'libx', installedVersion: '1.0',
    fixedVersion: '1.1', severity: 'critical', title: 'overflow', links: [], ...over,
  };
}

export function report(findings: Finding[], over: Partial<ScanReport> = {}): ScanReport {
  return {
    scanner: 'builtin', status: 'succeeded', summary: { critical: 0, high: 0, medium: 0, low: 0, unknown: 0 }, findings,
    startedAt: '2025-01-01T00:00:00.000Z', finishedAt: '2025-01-01T00:00:01.000Z', dbVersion: 'v1', ...over,
  };
}

export function awaiting(over: Partial<IntakeRequest> = {}): IntakeRequest {
  const at = '2025-01-01T00:00:00.000Z';
  return {
    id: 'r1', image: 'docker.io/library/nginx:1', team: 'payments', requestedBy: 'alice', justification: 'j', status: 'awaiting_approval',
    createdAt: at, updatedAt: at, source: { registry: 'docker.io', repository: 'library/nginx', tag: '1', digest: `sha256:${'a'.repeat(64)}` },
    platforms: [], scans: [report([finding()])], codeScans: [], policy: null, waivers: [], decisions: [], internalRef: null, error: null,
    history: [], version: 1, ...over,
  };
}

/** The approved-digest ledger in memory, with the Redis store's identity and tag rules. */
export class MemoryApprovalStore implements ApprovalStore {
  readonly items = new Map<string, Approval>();
  readonly tagIndex = new Map<string, string>();
  readonly sourceIndex = new Map<string, string>();
  private static key(team: string, image: string, digest: string): string { return `${team}|${image}|${digest}`; }
  private static scoped(s: ApprovalScope, what: string): string { return `${s.team}|${s.image}|${platformKey(s.platforms)}|${what}`; }
  /**
   * The deny-list that `complete` and `lookup` consult, as the Redis scripts read it (a
   * MemoryRevocationStore built on this ledger sets itself). `complete` does not check the
   * request's state here: the Redis store's tests do (test/integration/store/approval-completion).
   */
  denyList?: Pick<RevocationStore, 'find'>;
  async complete(a: Approval, expected: ExpectedApproval): Promise<boolean> {
    const cur = this.items.get(MemoryApprovalStore.key(a.team, a.image, a.digest));
    if (!cur || cur.requestId !== expected.requestId || cur.approvedAt !== expected.approvedAt || Boolean(cur.pending) !== Boolean(expected.pending)) return false;
    if (await this.denyList?.find(a.team, a.image, a.digest)) return false;
    const { pending: _pending, ...completed } = a;
    await this.put(completed);
    return true;
  }
  async put(a: Approval): Promise<void> {
    const k = MemoryApprovalStore.key(a.team, a.image, a.digest);
    const old = this.items.get(k);
    this.items.set(k, structuredClone({ ...a, platforms: a.platforms ?? [], tags: [...new Set([...(old?.tags ?? []), ...a.tags])] }));
    if (a.sourceDigest && a.sourceDigest !== a.digest) this.sourceIndex.set(MemoryApprovalStore.scoped({ ...a, platforms: a.platforms ?? [] }, a.sourceDigest), a.digest);
  }
  async digestForSource(scope: ApprovalScope, sourceDigest: string): Promise<string | null> { return this.sourceIndex.get(MemoryApprovalStore.scoped(scope, sourceDigest)) ?? null; }
  async addTag(scope: ApprovalScope, tag: string, digest: string): Promise<void> {
    this.tagIndex.set(MemoryApprovalStore.scoped(scope, tag), digest);
    const a = this.items.get(MemoryApprovalStore.key(scope.team, scope.image, digest));
    if (a && !a.tags.includes(tag)) a.tags.push(tag);
  }
  async get(team: string, image: string, digest: string): Promise<Approval | null> { const a = this.items.get(MemoryApprovalStore.key(team, image, digest)); return a ? structuredClone(a) : null; }
  async digestForTag(scope: ApprovalScope, tag: string): Promise<string | null> { return this.tagIndex.get(MemoryApprovalStore.scoped(scope, tag)) ?? null; }
  async lookup(scope: ApprovalScope, ref: { tag: string } | { digest: string }): Promise<LookedUpApproval | null> {
    const digest = 'digest' in ref ? ref.digest : await this.digestForTag(scope, ref.tag);
    const a = digest ? await findApproval(this, scope, digest) : null;
    const revoked = a ? await this.denyList?.find(a.team, a.image, a.digest) : null;
    return a && revoked ? { ...a, revoked } : a;
  }
  async ofDigest(team: string, digest: string): Promise<Approval[]> { return [...this.items.values()].filter((a) => a.team === team && a.digest === digest).map((a) => structuredClone(a)); }
  async remove(team: string, image: string, digest: string): Promise<Approval | null> {
    const k = MemoryApprovalStore.key(team, image, digest);
    const a = this.items.get(k);
    if (!a) return null;
    this.items.delete(k);
    const scope = { team, image, platforms: a.platforms ?? [] };
    for (const tag of a.tags) if (this.tagIndex.get(MemoryApprovalStore.scoped(scope, tag)) === digest) this.tagIndex.delete(MemoryApprovalStore.scoped(scope, tag));
    if (a.sourceDigest && this.sourceIndex.get(MemoryApprovalStore.scoped(scope, a.sourceDigest)) === digest) this.sourceIndex.delete(MemoryApprovalStore.scoped(scope, a.sourceDigest));
    return a;
  }
  async list(team: string, page: { limit: number }): Promise<Page<Approval>> {
    const items = [...this.items.values()].filter((a) => a.team === team && !a.pending).sort((x, y) => y.approvedAt.localeCompare(x.approvedAt));
    return { items: items.slice(0, page.limit), next: null };
  }
}

/** An internal registry as a map of `repository:reference` → digest, with switchable faults. */
export class MemoryIntakeRegistry implements IntakeRegistry {
  readonly manifests = new Map<string, string>();
  readonly copies: Array<{ from: string; to: string }> = [];
  faults: { internalDigest?: Error; unpublish?: Error; stage?: Error } = {};
  /** What `stage` returns; by default the source digest. */
  stagedDigest?: string;
  readonly internal = {} as RegistryClient;
  readonly internalUrl = 'http://internal.test';
  async resolve(ref: ImageRef): Promise<string> { return ref.digest ?? `sha256:${'a'.repeat(64)}`; }
  /** Whether the stand-in mover preserves digests. */
  preservesDigest = true;
  async stage(source: ImageRef & { digest: string }, repository: string): Promise<StageResult> {
    if (this.faults.stage) throw this.faults.stage;
    const digest = this.stagedDigest ?? source.digest;
    this.manifests.set(`${repository}@${digest}`, digest);
    this.copies.push({ from: `${source.registry}/${source.repository}@${source.digest}`, to: `${repository}@${digest}` });
    return { digest, sourceDigest: source.digest, preservesDigest: this.preservesDigest, mover: this.preservesDigest ? 'registry' : 'engine' };
  }
  async promote(fromRepository: string, toRepository: string, digest: string, tag: string): Promise<void> {
    if (!this.manifests.has(`${fromRepository}@${digest}`)) throw new Error(`${fromRepository}@${digest} is not staged`);
    this.manifests.set(`${toRepository}@${digest}`, digest);
    this.manifests.set(`${toRepository}:${tag}`, digest);
  }
  async internalDigest(repository: string, tag: string): Promise<string | null> {
    if (this.faults.internalDigest) throw this.faults.internalDigest;
    return this.manifests.get(`${repository}:${tag}`) ?? null;
  }
  async unpublish(repository: string, digest: string): Promise<void> {
    if (this.faults.unpublish) throw this.faults.unpublish;
    for (const [k, v] of this.manifests) if (k.startsWith(`${repository}:`) || k.startsWith(`${repository}@`)) { if (v === digest) this.manifests.delete(k); }
  }
  /** Tags (and digests) the repository serves. */
  served(repository: string): string[] {
    return [...this.manifests.keys()].filter((k) => k.startsWith(`${repository}:`) || k.startsWith(`${repository}@`));
  }
}

/** One stored code-scan run holding `findings`. */
export function codeScan(findings: Finding[], over: Partial<CodeScanRecord> = {}): CodeScanRecord {
  return {
    id: 'c1', tool: 'CodeQL', uploadedBy: 'dev', uploadedAt: '2025-01-01T00:00:00.000Z', summary: { critical: 0, high: 0, medium: 0, low: 0, unknown: 0 },
    findings, findingsTotal: findings.length, grouped: false, ...over,
  };
}

/** The deny-list in memory. */
export class MemoryRevocationStore implements RevocationStore {
  readonly items = new Map<string, Revocation>();
  readonly outbox: OutboxRecord[] = [];
  readonly intentsById = new Map<string, RevocationIntent>();
  /** `team|digest` → repository → the image kept there. */
  readonly keptImages = new Map<string, Map<string, KeptImage>>();
  /** `approvals`: the ledger a revocation removes from (as the Redis script does, together). */
  constructor(private readonly approvals?: Pick<ApprovalStore, 'remove'>) {
    if (approvals instanceof MemoryApprovalStore) approvals.denyList ??= this;
  }
  async read(team: string, digest: string): Promise<RevocationRead> {
    const entries = [...this.items.values()].filter((e) => e.team === team && e.digest === digest);
    const kept = [...(this.keptImages.get(`${team}|${digest}`)?.values() ?? [])].map((k) => ({ ...k }));
    return { entries, kept, seen: JSON.stringify([entries.map((e) => JSON.stringify(e)).sort(), kept.map((k) => JSON.stringify(k)).sort()]) };
  }
  async revoke(entry: Revocation, approvals: Approval[], records: OutboxRecord[], intent: RevocationIntent, change: RevokeChange = {}): Promise<boolean> {
    if (change.seen !== undefined && (await this.read(entry.team, entry.digest)).seen !== change.seen) return false;
    await this.add(entry, records);
    for (const a of approvals) await this.approvals?.remove(a.team, a.image, a.digest);
    const kept = this.keptImages.get(`${entry.team}|${entry.digest}`) ?? new Map<string, KeptImage>();
    for (const k of change.keep ?? []) kept.set(k.repository, { ...k });
    for (const r of change.clear ?? []) kept.delete(r);
    this.keptImages.set(`${entry.team}|${entry.digest}`, kept);
    this.intentsById.set(intent.id, structuredClone(intent));
    return true;
  }
  async intents(): Promise<RevocationIntent[]> { return [...this.intentsById.values()].map((i) => structuredClone(i)); }
  async completed(id: string): Promise<void> { this.intentsById.delete(id); }
  async add(entry: Revocation, records: OutboxRecord[]): Promise<void> {
    this.items.set(`${entry.team}|${entry.digest}|${entry.image ?? '*'}`, entry);
    this.outbox.push(...records);
  }
  async find(team: string, image: string, digest: string): Promise<Revocation | null> {
    return this.items.get(`${team}|${digest}|*`) ?? this.items.get(`${team}|${digest}|${image}`) ?? null;
  }
  async remove(team: string, digest: string, image: string | undefined, records: (lifted: Revocation) => OutboxRecord[]): Promise<Revocation | null> {
    const key = `${team}|${digest}|${image ?? '*'}`;
    const lifted = this.items.get(key);
    if (!lifted) return null;
    this.items.delete(key);
    this.outbox.push(...records(lifted));
    return lifted;
  }
}
