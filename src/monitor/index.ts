/** Health of approvals after the decision: re-evaluation, grace and revocation, drift, snapshots. */
export { monitorConfigSchema, type MonitorConfig } from './config';
export { HealthService, type HealthSettings } from './health';
export { RedisHealthStore, type HealthStore } from './health-store';
export { HealthSweep, type SweepResult } from './sweep';
export { HealthViews, type ReviewItem } from './views';
export { DriftService, type RequestFiler } from './drift';
export { DriftHistoryService, RedisDriftHistory, DRIFT_HISTORY_CAP, type DriftEntry } from './drift-history';
export { SnapshotService, type TeamSnapshot } from './snapshots';
export { RedisSnapshotStore } from './snapshot-store';
export { healthMetricsSource } from './metrics-source';
export type { HealthRecord, HealthState, HealthView } from './types';
