/**
 * The console's finding index (issue 15: "which of our images contain CVE-X / log4j-core?"
 * across teams, and unique CVE counts over approved images). Scan reports are immutable once a
 * request is scanned, so each request is indexed once, after its scans:
 * - per term (a finding id, each alias, a package name and its last `:`/`/` segment, all
 *   lowercased): a hash of request id → that request's matching findings, with the team, so a
 *   search reads one hash and filters by team before reading any request;
 * - per request: its vulnerability ids per severity (unique counts over many images).
 * Entries of a request deleted by retention stay until the term is searched again; readers
 * drop requests that no longer exist. Writes are idempotent (HSET/SADD), so two processes
 * indexing one request at once write the same thing.
 */
import type Redis from 'ioredis';
import { SEVERITIES, type Finding, type Severity, type SeveritySummary } from '../scanners/types';
import { storeKeys, type StoreKeys } from './keys';
import type { IntakeRequest } from './types';

/** One finding of a search hit. */
export interface FindingMatch {
  id: string;
  package?: string;
  installedVersion?: string;
  fixedVersion?: string;
  severity: Severity;
  kind: Finding['kind'];
}

export interface FindingHit {
  requestId: string;
  team: string;
  image: string;
  digest?: string;
  matches: FindingMatch[];
}

/** A request's findings folded for the dashboards. */
export interface FindingDigest {
  requestId: string;
  team: string;
  image: string;
  digest?: string;
  /** Vulnerability ids (deduplicated) per severity. */
  vulns: Record<Severity, string[]>;
  /** Vulnerability findings per severity (instances: the same CVE in two packages counts twice). */
  instances: SeveritySummary;
}

export interface FindingIndex {
  /** Indexes the request's findings unless already done; true when it indexed now. */
  index(request: IntakeRequest): Promise<boolean>;
  /** Which of `ids` are indexed. */
  indexed(ids: readonly string[]): Promise<boolean[]>;
  /** Hits for a term (case-insensitive, exact id/alias/package), any team: callers filter. */
  search(term: string): Promise<FindingHit[]>;
  /** The folded findings of these requests (null where not indexed). */
  digests(ids: readonly string[]): Promise<Array<FindingDigest | null>>;
}

/** The terms a finding is found by. */
export function findingTerms(f: Finding): string[] {
  const terms = [f.id, ...f.aliases];
  if (f.package) {
    terms.push(f.package);
    const tail = f.package.split(/[:/]/).pop();
    if (tail) terms.push(tail);
  }
  return [...new Set(terms.map((t) => t.trim().toLowerCase()).filter((t) => t.length > 0 && t.length <= 200))];
}

function match(f: Finding): FindingMatch {
  return {
    id: f.id, severity: f.severity, kind: f.kind,
    ...(f.package ? { package: f.package } : {}), ...(f.installedVersion ? { installedVersion: f.installedVersion } : {}),
    ...(f.fixedVersion ? { fixedVersion: f.fixedVersion } : {}),
  };
}

export class RedisFindingIndex implements FindingIndex {
  private readonly keys: StoreKeys;

  constructor(private readonly redis: Redis, prefix: string) {
    this.keys = storeKeys(prefix);
  }

  async index(r: IntakeRequest): Promise<boolean> {
    if (await this.redis.sismember(this.keys.findingIndexed(), r.id)) return false;
    const findings = r.scans.flatMap((s) => s.findings);
    const image = `${r.source.registry}/${r.source.repository}`;
    const digest = r.stagedDigest ?? r.source.digest;
    const byTerm = new Map<string, FindingMatch[]>();
    const vulns = Object.fromEntries(SEVERITIES.map((s) => [s, new Set<string>()])) as Record<Severity, Set<string>>;
    const instances: SeveritySummary = { critical: 0, high: 0, medium: 0, low: 0, unknown: 0 };
    for (const f of findings) {
      for (const t of findingTerms(f)) byTerm.set(t, [...(byTerm.get(t) ?? []), match(f)]);
      if (f.kind !== 'vulnerability') continue;
      vulns[f.severity].add(f.id);
      instances[f.severity] += 1;
    }
    const folded: FindingDigest = {
      requestId: r.id, team: r.team, image, ...(digest ? { digest } : {}), instances,
      vulns: Object.fromEntries(SEVERITIES.map((s) => [s, [...vulns[s]]])) as Record<Severity, string[]>,
    };
    const tx = this.redis.multi();
    for (const [term, matches] of byTerm) {
      tx.hset(this.keys.findingTerm(term), r.id, JSON.stringify({ team: r.team, image, ...(digest ? { digest } : {}), matches }));
    }
    tx.set(this.keys.findingDigest(r.id), JSON.stringify(folded));
    // Marked last, in the same transaction: a crash leaves the request unmarked and indexed again later.
    tx.sadd(this.keys.findingIndexed(), r.id);
    await tx.exec();
    return true;
  }

  async indexed(ids: readonly string[]): Promise<boolean[]> {
    if (!ids.length) return [];
    const found = await this.redis.smismember(this.keys.findingIndexed(), ...ids);
    return found.map((x) => x === 1);
  }

  async search(term: string): Promise<FindingHit[]> {
    const t = term.trim().toLowerCase();
    if (!t) return [];
    const all = await this.redis.hgetall(this.keys.findingTerm(t));
    return Object.entries(all).map(([requestId, json]) => ({ requestId, ...(JSON.parse(json) as Omit<FindingHit, 'requestId'>) }));
  }

  async digests(ids: readonly string[]): Promise<Array<FindingDigest | null>> {
    const out: Array<FindingDigest | null> = [];
    for (let i = 0; i < ids.length; i += 500) {
      const jsons = await this.redis.mget(...ids.slice(i, i + 500).map((id) => this.keys.findingDigest(id)));
      for (const j of jsons) out.push(j ? (JSON.parse(j) as FindingDigest) : null);
    }
    return out;
  }
}
