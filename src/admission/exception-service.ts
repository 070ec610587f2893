/**
 * Break-glass (issue 16.3): an admin of a team lets one image run in the team's namespaces while
 * an incident is handled, for at most 24 h, with a reason. Each grant and early revocation is
 * committed with its audit record (the outbox) and then published on the event bus
 * (`exception.granted`, `exception.revoked`): the webhook sink alerts on it and the ledger
 * announcer tells every webhook replica, which honours the exception from memory.
 */
import { randomBytes } from 'node:crypto';
import { AppError } from '../lib/errors';
import type { Principal } from '../lib/identity/types';
import { canRead, hasRole, isMember, readableTeams, requireRole } from '../intake/access';
import { outboxRecord, type DomainEvent, type EventBus } from '../intake/events';
import { isValidDigest, parseReference } from '../registry/reference';
import type { ExceptionStore } from './exception-store';
import { MAX_EXCEPTION_MS, type AdmissionException } from './exceptions';
import type { NamespaceMap } from './namespaces';

/** A validated `POST /v1/exceptions` body: exactly one of `image` and `digest`. */
export interface ExceptionInput {
  team: string;
  image?: string;
  digest?: string;
  namespace?: string;
  reason: string;
  expires: string;
}

/** An exception as the API shows it, with whether it is in force now. */
export type ExceptionView = AdmissionException & { active: boolean };

export interface ExceptionServiceDeps {
  store: ExceptionStore;
  events: EventBus;
  namespaces: NamespaceMap;
  /** @defaultValue Date.now */
  now?: () => number;
}

export class ExceptionService {
  private readonly now: () => number;

  constructor(private readonly d: ExceptionServiceDeps) {
    this.now = d.now ?? Date.now;
  }

  private view(e: AdmissionException): ExceptionView {
    return { ...e, active: Date.parse(e.expires) > this.now() };
  }

  private target(input: ExceptionInput): Pick<AdmissionException, 'image' | 'tag' | 'digest'> {
    if (input.digest !== undefined) {
      if (!isValidDigest(input.digest)) throw new AppError('INVALID_REQUEST', 'body.digest: not a sha256 or sha512 digest', { details: { field: 'digest' } });
      return { digest: input.digest };
    }
    const ref = parseReference(input.image ?? '');
    return { image: `${ref.registry}/${ref.repository}`, ...(ref.digest ? { digest: ref.digest } : ref.tag ? { tag: ref.tag } : {}) };
  }

  private checkExpiry(expires: string, now: number): string {
    const at = Date.parse(expires);
    if (Number.isNaN(at)) throw new AppError('INVALID_REQUEST', 'body.expires: not an ISO 8601 date-time', { details: { field: 'expires' } });
    if (!(at > now)) throw new AppError('EXPIRES_IN_PAST', 'body.expires: an exception must expire in the future', { details: { field: 'expires' } });
    if (at > now + MAX_EXCEPTION_MS) {
      throw new AppError('EXPIRES_TOO_LATE', `body.expires: an exception lasts at most 24 h: until ${new Date(now + MAX_EXCEPTION_MS).toISOString()} at the latest`, { details: { field: 'expires' } });
    }
    return new Date(at).toISOString();
  }

  async grant(p: Principal, input: ExceptionInput): Promise<ExceptionView> {
    requireRole(p, ['admin'], 'granting break-glass exceptions');
    if (!isMember(p, input.team)) throw new AppError('FORBIDDEN', `granting exceptions for team ${input.team} needs an admin of that team`);
    const now = this.now();
    const expires = this.checkExpiry(input.expires, now);
    const target = this.target(input);
    if (input.namespace !== undefined) {
      const ns = this.d.namespaces.resolve(input.namespace);
      if (ns.kind !== 'team' || ns.team !== input.team) {
        throw new AppError('INVALID_REQUEST', `body.namespace: ${input.namespace} is not a namespace of team ${input.team} (webhook.namespaces)`, { details: { field: 'namespace' } });
      }
    }
    const at = new Date(now).toISOString();
    const e: AdmissionException = {
      id: randomBytes(8).toString('hex'), team: input.team, ...target, ...(input.namespace !== undefined ? { namespace: input.namespace } : {}),
      reason: input.reason, expires, by: p.name, at,
    };
    const event = eventOf('exception.granted', p.name, e, {});
    await this.d.store.grant(e, [outboxRecord(event, at)]);
    await this.d.events.publish({ ...event, recorded: true });
    return this.view(e);
  }

  /** The exceptions of `team` (or of every team the caller reads), newest first. */
  async list(p: Principal, team?: string): Promise<ExceptionView[]> {
    if (team !== undefined && !canRead(p, team)) throw new AppError('NOT_FOUND', `team ${team} not found`);
    const teams = team !== undefined ? [team] : readableTeams(p);
    const all = await this.d.store.all();
    return all.filter((e) => teams === '*' || teams.includes(e.team)).sort((a, b) => b.at.localeCompare(a.at) || a.id.localeCompare(b.id)).map((e) => this.view(e));
  }

  /** Ends an exception before its expiry (admins of its team, audited). */
  async revoke(p: Principal, id: string, reason?: string): Promise<ExceptionView> {
    const notFound = new AppError('NOT_FOUND', `exception ${id} not found`);
    const e = /^[a-f0-9]{16}$/.test(id) ? await this.d.store.get(id) : null;
    if (!e || !canRead(p, e.team)) throw notFound;
    if (!hasRole(p, 'admin') || !isMember(p, e.team)) throw new AppError('FORBIDDEN', `revoking exceptions of team ${e.team} needs an admin of that team`);
    const at = new Date(this.now()).toISOString();
    const event = eventOf('exception.revoked', p.name, e, { revokedAt: at, ...(reason ? { revokeReason: reason } : {}) });
    if (!(await this.d.store.revoke(e, [outboxRecord(event, at)]))) throw notFound;
    await this.d.events.publish({ ...event, recorded: true });
    return { ...e, active: false };
  }
}

function eventOf(type: string, actor: string, e: AdmissionException, extra: Record<string, unknown>): DomainEvent {
  return {
    type, actor, target: `exception/${e.team}/${e.id}`,
    details: {
      team: e.team, id: e.id, image: e.image ?? null, tag: e.tag ?? null, digest: e.digest ?? null, namespace: e.namespace ?? null,
      reason: e.reason, expires: e.expires, grantedBy: e.by, grantedAt: e.at, ...extra,
    },
  };
}
