/** In-memory stand-ins for the intake services' ports, for unit tests of the services alone. */
import type { ScanReport } from '../../../src/scanners/types';
import type { Finding } from '../../../src/scanners/types';
import type { IntakeRequest, ListQuery, Page, RequestStore, ScanResultStore } from '../../../src/store/types';

export class MemoryRequestStore implements RequestStore {
  readonly items = new Map<string, IntakeRequest>();
  async create(r: IntakeRequest): Promise<void> { this.items.set(r.id, { ...structuredClone(r), version: 1 }); }
  async get(id: string): Promise<IntakeRequest | null> { const r = this.items.get(id); return r ? structuredClone(r) : null; }
  async update(id: string, change: (r: IntakeRequest) => IntakeRequest | null): Promise<IntakeRequest> {
    const cur = await this.get(id);
    if (!cur) throw new Error('not found');
    const next = change(cur);
    if (!next) return cur;
    const saved = { ...next, version: cur.version + 1 };
    this.items.set(id, structuredClone(saved));
    return saved;
  }
  async list(_q: ListQuery): Promise<Page<IntakeRequest>> { return { items: [...this.items.values()], next: null }; }
  async claim(): Promise<string | null> { return null; }
  async release(): Promise<void> { /* no claims kept */ }
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
