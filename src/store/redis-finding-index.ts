/**
 * The console's finding index (issue 15: "which of our images contain CVE-X / log4j-core?"
 * across teams, and unique CVE counts over approved images). Scan reports are immutable once a
 * request is scanned, so each request is indexed once, after its scans:
 * - per term (a finding id, each alias, a package name and its last `:`/`/` segment, all
 *   lowercased): a hash of request id → that request's matching findings, with the team, so a
 *   search reads one hash and filters by team before reading any request;
 * - per request: its vulnerability ids per severity (unique counts over many images).
 * - every term in one sorted set, all scores 0 so ZRANGEBYLEX walks them in order: a prefix
 *   ("log4j", "cve-2021-442") finds its first terms without reading the others.
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
  /**
   * Hits for the terms starting with `prefix` (case-insensitive) in lexical order (an exact term
   * first), one hit per request with the matches of all its terms, of the teams `visible` accepts
   * only: a term counts towards `maxTerms` (and is named in `terms`) only when one of its hits is
   * visible, so nothing of another team shows, not even its package names. At most `budget` terms
   * are read, and none after the one that brought the hits to `maxHits` requests. `more`: another
   * visible term follows, or the budget or `maxHits` stopped the search before the terms ended.
   */
  searchPrefix(prefix: string, options: PrefixOptions): Promise<PrefixResult>;
  /** The folded findings of these requests (null where not indexed). */
  digests(ids: readonly string[]): Promise<Array<FindingDigest | null>>;
  /** Adds the terms indexed before the term set existed to it (once; idempotent). */
  backfillTerms(): Promise<void>;
}

export interface PrefixOptions {
  maxTerms: number;
  /** Stop reading terms once this many requests were found. */
  maxHits: number;
  budget: number;
  visible: (team: string) => boolean;
}

export interface PrefixResult {
  /** Visible hits only. */
  hits: FindingHit[];
  /** The terms with a visible hit, in order. */
  terms: string[];
  more: boolean;
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

const TERMS_PER_READ = 4;

/** The team of a term entry without parsing it all (written as `{"team":…,` first, see index()). */
function teamOf(json: string): string {
  const m = /^\{"team":("(?:[^"\\]|\\.)*")/.exec(json);
  return m ? (JSON.parse(m[1]) as string) : (JSON.parse(json) as { team: string }).team;
}

const matchKey = (m: FindingMatch): string => `${m.id}\u0000${m.package ?? ''}\u0000${m.installedVersion ?? ''}`;

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
    if (byTerm.size) tx.zadd(this.keys.findingTerms(), ...[...byTerm.keys()].flatMap((t) => [0, t]));
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

  async searchPrefix(prefix: string, o: PrefixOptions): Promise<PrefixResult> {
    const t = prefix.trim().toLowerCase();
    const out: PrefixResult = { hits: [], terms: [], more: false };
    if (!t) return out;
    const byRequest = new Map<string, FindingHit>();
    const seen = new Map<string, Set<string>>();
    // '[t' .. '[t' + 0xff: every term starting with t (0xff sorts after any byte of UTF-8 text).
    const upper = Buffer.concat([Buffer.from(`[${t}`), Buffer.from([0xff])]);
    let lower = `[${t}`;
    let read = 0;
    // A few terms per round trip: a big term (a package in thousands of images) may end the search early.
    reading: while (read < o.budget) {
      const batch: string[] = await this.redis.zrangebylex(this.keys.findingTerms(), lower, upper, 'LIMIT', 0, Math.min(TERMS_PER_READ, o.budget - read));
      if (batch.length === 0) return this.done(out, byRequest);
      read += batch.length;
      const pipe = this.redis.pipeline();
      for (const term of batch) pipe.hgetall(this.keys.findingTerm(term));
      for (const [i, [err, all]] of ((await pipe.exec()) ?? []).entries()) {
        if (err) throw err;
        lower = `(${batch[i]}`;
        // A term is counted (and shown) only when the caller may read one of its hits.
        const visible = Object.entries(all as Record<string, string>).filter(([, json]) => o.visible(teamOf(json)));
        if (visible.length === 0) continue;
        if (out.terms.length === o.maxTerms) { out.more = true; return this.done(out, byRequest); }
        out.terms.push(batch[i]);
        for (const [requestId, json] of visible) {
          const hit = JSON.parse(json) as Omit<FindingHit, 'requestId'>;
          const known = byRequest.get(requestId);
          if (!known) {
            byRequest.set(requestId, { requestId, ...hit });
            seen.set(requestId, new Set(hit.matches.map(matchKey)));
            continue;
          }
          // One finding is found under several terms (its id and its package): shown once.
          const keys = seen.get(requestId) as Set<string>;
          for (const m of hit.matches) if (!keys.has(matchKey(m))) { keys.add(matchKey(m)); known.matches.push(m); }
        }
        if (byRequest.size >= o.maxHits) break reading;
      }
    }
    // Stopped by the budget or by maxHits: more when any term follows the last one read.
    out.more = (await this.redis.zrangebylex(this.keys.findingTerms(), lower, upper, 'LIMIT', 0, 1)).length > 0;
    return this.done(out, byRequest);
  }

  private done(out: PrefixResult, byRequest: Map<string, FindingHit>): PrefixResult {
    out.hits = [...byRequest.values()];
    return out;
  }

  async backfillTerms(): Promise<void> {
    if (await this.redis.exists(this.keys.findingTermsReady())) return;
    const head = this.keys.findingTerm('');
    let cursor = '0';
    do {
      const [next, keys] = await this.redis.scan(cursor, 'MATCH', `${head}*`, 'COUNT', 1000);
      if (keys.length) await this.redis.zadd(this.keys.findingTerms(), ...keys.flatMap((k) => [0, k.slice(head.length)]));
      cursor = next;
    } while (cursor !== '0');
    await this.redis.set(this.keys.findingTermsReady(), '1');
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
