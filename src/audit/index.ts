/** The audit log: authenticated hash chain, outbox, Redis stream, checkpoints, archive, subscriber. */
export * from './chain';
export { AuditKeyring, AUDIT_KEY_ENV } from './keys';
export { RedisAuditLog, type AuditLog, type AuditLogOptions, type AuditRecord } from './log';
export { auditKeys, type AuditKeys } from './outbox';
export { startPeriodicDrain, type PeriodicDrain } from './drainer';
export { auditSubscriber, type AuditableEvent } from './subscriber';
export { readCheckpoints, signCheckpoint, type Checkpoint, type FoundCheckpoint } from './checkpoints';
export { TrailVerifier, type TrailResult, type VerifyReport } from './verify';
export { walkArchiveFile } from './archive-file';
export { archiveBefore, type ArchiveOutcome } from './archive';
export { startCheckpointer, type Checkpointer } from './checkpointer';
export { AuditReader, visibleTo, type AuditPage, type TeamScope } from './reader';
export * from './checkpoint-dir';
export { type AuditEntry } from './chain';
