/** The audit log: hash chain, outbox, Redis stream, and the domain-event subscriber. */
export * from './chain';
export { RedisAuditLog, type AuditLog, type AuditLogOptions, type AuditRecord } from './log';
export { auditKeys, type AuditKeys } from './outbox';
export { startPeriodicDrain, type PeriodicDrain } from './drainer';
export { auditSubscriber, type AuditableEvent } from './subscriber';
