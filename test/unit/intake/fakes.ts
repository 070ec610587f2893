/** In-memory stand-ins for the intake services' ports, for unit tests of the services alone. */
import type { ScanReport } from '../../../src/scanners/types';
import type { Finding } from '../../../src/scanners/types';
import type { IntakeRegistry, StageResult } from '../../../src/intake/ports';
import type { ImageRef } from '../../../src/registry/reference';
import type { RegistryClient } from '../../../src/registry/types';
import type { Approval, ApprovalStore, CodeScanRecord, IntakeRequest, ListQuery, OutboxRecord, Page, RequestStatus, RequestStore, SaveOptions, ScanResultStore, TransitionResult } from '../../../src/store/types';

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
  async list(_q: ListQuery): Promise<Page<IntakeRequest>> { return { items: [...this.items.values()], next: null }; }
  async claim(): Promise<string | null> { return null; }
  async release(): Promise<void> { /* no claims kept */ }
  async idsByDigest(team: string, digest: string): Promise<string[]> {
    return [...this.items.values()].filter((r) => r.team === team && (r.source.digest === digest || r.stagedDigest === digest)).map((r) => r.id).sort();
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

/** The approved-digest ledger in memory, with the Redis store's tag rules. */
export class MemoryApprovalStore implements ApprovalStore {
  readonly items = new Map<string, Approval>();
  readonly tagIndex = new Map<string, string>();
  readonly sourceIndex = new Map<string, string>();
  async put(a: Approval): Promise<void> {
    const old = this.items.get(`${a.team}|${a.digest}`);
    this.items.set(`${a.team}|${a.digest}`, structuredClone({ ...a, tags: [...new Set([...(old?.tags ?? []), ...a.tags])] }));
    if (a.sourceDigest && a.sourceDigest !== a.digest) this.sourceIndex.set(`${a.team}|${a.sourceDigest}`, a.digest);
  }
  async digestForSource(team: string, sourceDigest: string): Promise<string | null> { return this.sourceIndex.get(`${team}|${sourceDigest}`) ?? null; }
  async addTag(team: string, image: string, tag: string, digest: string): Promise<void> {
    this.tagIndex.set(`${team}|${image}|${tag}`, digest);
    const a = this.items.get(`${team}|${digest}`);
    if (a && !a.tags.includes(tag)) a.tags.push(tag);
  }
  async get(team: string, digest: string): Promise<Approval | null> { const a = this.items.get(`${team}|${digest}`); return a ? structuredClone(a) : null; }
  async digestForTag(team: string, image: string, tag: string): Promise<string | null> { return this.tagIndex.get(`${team}|${image}|${tag}`) ?? null; }
  async teamsFor(digest: string): Promise<string[]> { return [...this.items.values()].filter((a) => a.digest === digest).map((a) => a.team); }
  async remove(team: string, digest: string): Promise<Approval | null> {
    const a = this.items.get(`${team}|${digest}`);
    if (!a) return null;
    this.items.delete(`${team}|${digest}`);
    for (const tag of a.tags) if (this.tagIndex.get(`${team}|${a.image}|${tag}`) === digest) this.tagIndex.delete(`${team}|${a.image}|${tag}`);
    if (a.sourceDigest && this.sourceIndex.get(`${team}|${a.sourceDigest}`) === digest) this.sourceIndex.delete(`${team}|${a.sourceDigest}`);
    return a;
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
