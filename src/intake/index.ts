/** The intake domain: request lifecycle, pipeline steps, decisions, approved images, events. */
export * from './events';
export * from './access';
export * from './ports';
export { Lifecycle, nextStep, PIPELINE_STATES } from './lifecycle';
export { sweepStuck, type SweepOptions } from './sweep';
export { teamBacklog } from './backlog';
export { Pipeline, RunInProgress, StepInProgress, type PipelineDeps, type StepObserver } from './pipeline';
export { RequestService, type NewRequest, type CreateResult } from './requests';
export { DecisionService } from './decisions';
export { isRequester } from './four-eyes';
export { ApprovedService, type ApprovedImage, type InventoryItem, type ResolveResult } from './approved';
export { RevocationService, revokedError, unpublishUnlessServed, type RevokeInput, type RevocationDeps } from './revocation';
export { withPublishLock, PUBLISH_LOCK_SCOPE, type PublishLock, type PublishLocks } from './publish-lock';
export { policyEvaluator } from './policy';
export { WaiverService, type WaiverInput, type WaiverServiceDeps } from './waivers';
export { ScanRunner, type ScanOutcome } from './scanning';
// The waiver body is the policy module's schema; routes take it from here (api → intake → policy).
export { waiverRequestSchema } from '../policy/config';
export { CodeScanService, groupFindings, INLINE_FINDINGS_LIMIT, MAX_CODE_SCANS, type CodeScanRecord, type CodeScanServiceDeps } from './code-scans';
export { RetentionService, type RetentionDeps, type RetentionOutcome, type RetentionSettings } from './retention';
// What routes and the API's response models need of the modules below intake (api → intake → …).
export { findingSchema, SEVERITIES, type Finding } from '../scanners/types';
export { REQUEST_STATUSES, type IntakeRequest, type RequestSummary, type RequestStatus } from '../store/types';
export * from './notifications';
export * from './registry-gateway';
export { AuditQueryService, type AuditLog } from './audit-query';
// The SARIF log is parsed at the edge (413/400 before the service runs); routes take the parser from here.
export { notJson, parseSarif } from '../scanners';
export type { ApprovalStore } from '../store/types';
export { canRead, readableTeams } from './access';
export { type DomainEvent } from './events';
export { EventBus } from './events';
export { requireRole } from './access';
export { isMember, hasRole } from './access';
export { type EventHandler } from './events';
