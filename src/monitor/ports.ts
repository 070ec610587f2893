/**
 * What the monitor needs from the rest of the service, as narrow interfaces that main.ts fills
 * in (the intake services, the event bus): the monitor imports no intake code, so the arrows
 * keep pointing one way (queue → monitor → store, policy, registry).
 */
import type { Logger } from '../lib/logger';
import type { Approval, ApprovalStore, OutboxRecord, RequestStore, ScanResultStore } from '../store/types';

/** A domain event as the bus carries it (intake's DomainEvent, declared structurally). */
export interface MonitorEvent {
  type: string;
  actor: string;
  target: string;
  details: Record<string, unknown>;
  /** The store already wrote the audit record with the change (the audit subscriber only drains). */
  recorded?: boolean;
}

export interface EventPublisher {
  /** `required`: throws unless every subscriber critical to the event handled it (intake's EventBus). */
  publish(event: MonitorEvent, options?: { required?: boolean }): Promise<void>;
}

/**
 * A bus subscriber (intake's EventHandler, declared structurally): `criticalFor` the event
 * types a `required` publish fails on when it fails, `role` what the error calls it.
 */
export type EventSubscriber = ((event: MonitorEvent) => Promise<void> | void) & { criticalFor?: readonly string[]; role?: string };

/** The audit outbox record of an event that happened at `at`. */
export function outboxOf(event: MonitorEvent, at: string): OutboxRecord {
  return { actor: event.actor, action: event.type, target: event.target, details: event.details, at };
}

/** Revokes one approval through the intake revocation service (deny-list, ledger, registry cleanup). */
export type Revoker = (approval: Pick<Approval, 'team' | 'image' | 'digest'>, reason: string) => Promise<void>;

/** Every completed approval of every team (the ledger snapshot). */
export type ApprovalSource = () => Promise<Approval[]>;

export interface HealthDeps {
  approvals: Pick<ApprovalStore, 'get' | 'ofDigest'>;
  requests: Pick<RequestStore, 'get'>;
  scanResults: Pick<ScanResultStore, 'get'>;
  all: ApprovalSource;
  revoke: Revoker;
  events: EventPublisher;
  logger: Logger;
  /** @defaultValue the system clock */
  now?: () => Date;
}

export const SYSTEM_ACTOR = 'system';
