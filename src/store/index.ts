/** The store: interfaces and the Redis implementation chosen in main.ts. */
export * from './types';
export { indexMember, requestCursor, storeKeys, REVOKED_TAG_TTL_S, type StoreKeys } from './keys';
export { RedisRequestStore } from './redis-requests';
export { RedisApprovalStore } from './redis-approvals';
export { RedisRevocationStore } from './redis-revocations';
export { RedisLedgerSnapshot, type ApprovedTagRecord, type RevokedTagRecord } from './redis-ledger-snapshot';
export { ledgerVersionKey, writeWithVersion } from './ledger-version';
export { RedisScanResultStore, SCAN_RESULT_TTL_SECONDS } from './redis-scans';
export { RedisCodeScanStore } from './redis-code-scans';
export * from './redis-upload-journal';
export * from './redis-step-leases';
export { LeaseKeeper, type LeaseKeeperOptions } from './lease-keeper';
export { RedisFindingIndex, findingTerms, type FindingIndex, type FindingHit, type FindingMatch, type FindingDigest, type PrefixOptions, type PrefixResult } from './redis-finding-index';
export { RedisRequestStats, type RequestStats } from './redis-request-stats';
