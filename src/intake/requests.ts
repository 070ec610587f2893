/**
 * Creating and reading requests, with team isolation: a request of a team the caller cannot
 * read is NOT_FOUND. Creation deduplicates: a digest already approved for the team comes back
 * approved at once, and a live request for the same team and reference is returned instead
 * of starting a second pipeline run.
 */
import { randomUUID } from 'node:crypto';
import { AppError } from '../lib/errors';
import type { Principal, SubjectLinks } from '../lib/identity/types';
import { formatReference, normalizeRegistryHost, parseReference } from '../registry';
import { requestCursor } from '../store';
import type { ApprovalStore, IntakeRequest, Page, RequestStatus, RequestStore, RequestSummary, RevocationStore } from '../store/types';
import { canRead, decidableTeams, isMember, readableTeams, REQUEST_READ_ROLES, requireRole, TEAM_NAME } from './access';
import { outboxRecord, type DomainEvent, type EventBus } from './events';
import { isRequester, personRef } from './four-eyes';
import { findApproval } from './ledger';
import { nextStep, refClaimKey, type Lifecycle } from './lifecycle';
import { sourceName } from './paths';
import { enqueue, type JobScheduler } from './ports';
import { revokedError } from './revocation';

export interface NewRequest {
  image: string;
  team: string;
  justification: string;
  platforms?: string[];
}

export interface CreateResult {
  request: IntakeRequest;
  /** `approved`: the digest was already approved; `in_flight`: an existing run was returned. */
  deduplicated?: 'approved' | 'in_flight';
}

export interface RequestServiceDeps {
  requests: RequestStore;
  approvals: ApprovalStore;
  /** The deny-list: a digest reference an admin revoked is refused at once (409 REVOKED). */
  revocations: Pick<RevocationStore, 'find'>;
  /**
   * The registries requests may name (`upstreams[].registry`): any other is refused at once
   * with 400 UPSTREAM_NOT_ALLOWED instead of failing later in the pipeline.
   */
  upstreams: readonly string[];
  scheduler: JobScheduler;
  lifecycle: Lifecycle;
  events: EventBus;
  /** Subjects declared the same person (four-eyes: own requests leave the queue; tokens-file `sameAs`). */
  links?: SubjectLinks;
}


export class RequestService {
  constructor(private readonly d: RequestServiceDeps) {}

  async create(p: Principal, input: NewRequest): Promise<CreateResult> {
    requireRole(p, ['developer'], 'creating a request');
    if (!TEAM_NAME.test(input.team)) throw new AppError('INVALID_REQUEST', 'team must be lowercase letters, digits and . _ - separators');
    if (!isMember(p, input.team)) throw new AppError('FORBIDDEN', `you are not a member of team ${input.team}`);
    const ref = parseReference(input.image);
    const allowed = this.d.upstreams.map(normalizeRegistryHost);
    if (!allowed.includes(normalizeRegistryHost(ref.registry))) {
      throw new AppError('UPSTREAM_NOT_ALLOWED', `registry ${ref.registry} is not an allowed upstream (allowed: ${allowed.join(', ') || 'none'})`, { details: { registry: ref.registry, allowed } });
    }
    if (ref.digest) {
      const denied = await this.d.revocations.find(input.team, `${ref.registry}/${ref.repository}`, ref.digest);
      if (denied) throw revokedError(denied);
    }
    const image = formatReference(ref);
    const now = new Date().toISOString();
    const id = randomUUID();
    const base: IntakeRequest = {
      id, image, team: input.team, requestedBy: p.name, requester: personRef(p), justification: input.justification, status: 'requested',
      createdAt: now, updatedAt: now, source: { registry: ref.registry, repository: ref.repository, ...(ref.tag ? { tag: ref.tag } : {}), ...(ref.digest ? { digest: ref.digest } : {}) },
      platforms: [...new Set(input.platforms ?? [])].sort(), scans: [], codeScans: [], policy: null, waivers: [], decisions: [], internalRef: null, error: null,
      history: [{ status: 'requested', at: now, by: p.name }], version: 0,
    };
    const approval = ref.digest
      ? await findApproval(this.d.approvals, { team: input.team, image: sourceName(base.source), platforms: base.platforms }, ref.digest)
      : null;
    if (approval) {
      // An upstream digest an engine mover re-encoded: the request is the approved digest's.
      const restaged = approval.digest !== ref.digest ? ` as ${approval.digest}` : '';
      const request: IntakeRequest = {
        ...base, status: 'approved', internalRef: approval.internalRef, ...(restaged ? { stagedDigest: approval.digest } : {}),
        history: [...base.history, { status: 'approved', at: now, by: 'system', note: `digest already approved for ${input.team}${restaged} (request ${approval.requestId})` }],
      };
      await this.createRecorded(request, 'approved');
      return { request: { ...request, version: 1 }, deduplicated: 'approved' };
    }
    const holder = await this.d.lifecycle.claim(refClaimKey(input.team, image, base.platforms), id);
    if (holder) {
      // The holder may be stuck (its enqueue failed, or the process died before it): a retried
      // POST nudges it. Idempotent: a step already queued or running is not queued twice.
      const step = nextStep(holder.status);
      if (step) await enqueue(this.d.scheduler, step, holder.id, holder.team);
      return { request: holder, deduplicated: 'in_flight' };
    }
    await this.createRecorded(base);
    try {
      await enqueue(this.d.scheduler, 'resolve', id, input.team);
    } catch (err) {
      // Fail it now so that its claim is released and a retry starts afresh; if even that
      // save fails, the worker's sweep queues it later.
      await this.d.lifecycle.transition(id, ['requested'], 'failed', {
        note: 'DEPENDENCY_UNAVAILABLE', patch: () => ({ error: { code: 'DEPENDENCY_UNAVAILABLE', message: 'the job queue was unavailable; request the image again' } }),
      }).catch(() => undefined);
      throw err;
    }
    return { request: { ...base, version: 1 } };
  }

  /** Saves a new request with its audit record (one atomic step), then publishes it. */
  private async createRecorded(r: IntakeRequest, deduplicated?: string): Promise<void> {
    const event: DomainEvent = {
      type: 'request.created', actor: r.requestedBy, target: `request/${r.id}`,
      details: { team: r.team, image: r.image, justification: r.justification, ...(deduplicated ? { deduplicated } : {}) },
    };
    await this.d.requests.create(r, { records: () => [outboxRecord(event, r.createdAt)] });
    await this.d.lifecycle.publishRecorded([event]);
  }

  /** The request, or NOT_FOUND when it does not exist or belongs to a team the caller cannot read. */
  async get(p: Principal, id: string): Promise<IntakeRequest> {
    requireRole(p, REQUEST_READ_ROLES, 'reading requests');
    const r = await this.d.requests.get(id);
    if (!r || !canRead(p, r.team)) throw new AppError('NOT_FOUND', `request ${id} not found`);
    return r;
  }

  async list(p: Principal, q: { status?: RequestStatus; team?: string; limit: number; cursor?: string }): Promise<Page<RequestSummary>> {
    requireRole(p, REQUEST_READ_ROLES, 'listing requests');
    const readable = readableTeams(p);
    let teams: string[] | '*' = readable;
    if (q.team) teams = readable === '*' || readable.includes(q.team) ? [q.team] : [];
    if (teams !== '*' && teams.length === 0) return { items: [], next: null };
    return this.d.requests.list({ teams, status: q.status, limit: q.limit, cursor: q.cursor, order: 'desc' });
  }

  /** Requests awaiting approval that the caller may decide (not their own), oldest first. */
  async queue(p: Principal, q: { limit: number; cursor?: string }): Promise<Page<RequestSummary>> {
    requireRole(p, ['approver', 'admin'], 'reading the approval queue');
    const teams = decidableTeams(p);
    const items: RequestSummary[] = [];
    let cursor = q.cursor;
    // Own requests are filtered out after the read, so a page may take more than one read; the
    // cursor resumes right after the last item returned, not after the last one read.
    for (;;) {
      const page = await this.d.requests.list({ teams, status: 'awaiting_approval', limit: q.limit, cursor, order: 'asc' });
      for (const [i, r] of page.items.entries()) {
        if (isRequester(p, r, this.d.links)) continue;
        items.push(r);
        if (items.length === q.limit) {
          const more = i < page.items.length - 1 || page.next !== null;
          return { items, next: more ? requestCursor(r) : null };
        }
      }
      if (!page.next) return { items, next: null };
      cursor = page.next;
    }
  }
}
