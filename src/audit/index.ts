/** The audit log: hash chain, Redis stream, and the domain-event subscriber. */
export * from './chain';
export { RedisAuditLog, type AuditLog, type AuditRecord } from './log';
export { auditSubscriber, type AuditableEvent } from './subscriber';
