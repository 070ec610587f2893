/**
 * Elastic Common Schema categorization of our events (ECS reference, "ECS Categorization
 * Fields": event.kind, event.category, event.type, event.outcome, allowed values below), so
 * that ELK can filter the audit and alert lines without a mapping of its own. Decisions are
 * configuration changes (`configuration`/`change`) that allow (approval) or deny (rejection,
 * revocation) an image; a failed sign-in is `authentication`/`start` with outcome `failure`.
 */

/** ECS event.kind allowed values. */
export const ECS_KINDS = ['alert', 'asset', 'enrichment', 'event', 'metric', 'state', 'pipeline_error', 'signal'] as const;
/** ECS event.category allowed values. */
export const ECS_CATEGORIES = [
  'api', 'authentication', 'configuration', 'database', 'driver', 'email', 'file', 'host', 'iam', 'intrusion_detection', 'library',
  'malware', 'network', 'package', 'process', 'registry', 'session', 'threat', 'vulnerability', 'web',
] as const;
/** ECS event.type allowed values. */
export const ECS_TYPES = [
  'access', 'admin', 'allowed', 'change', 'connection', 'creation', 'deletion', 'denied', 'device', 'end', 'error', 'group', 'indicator',
  'info', 'installation', 'protocol', 'start', 'user',
] as const;
export const ECS_OUTCOMES = ['failure', 'success', 'unknown'] as const;

export type EcsKind = (typeof ECS_KINDS)[number];
export type EcsCategory = (typeof ECS_CATEGORIES)[number];
export type EcsType = (typeof ECS_TYPES)[number];
export type EcsOutcome = (typeof ECS_OUTCOMES)[number];

export interface EcsCategorization {
  'event.kind': EcsKind;
  'event.category': EcsCategory[];
  'event.type': EcsType[];
  'event.action': string;
  'event.outcome': EcsOutcome;
}

type Rule = [EcsCategory[], EcsType[], EcsOutcome?];

/** Per action; the first match of an exact action, then of its prefix (`robot.`), wins. */
const RULES: Record<string, Rule> = {
  'request.created': [['configuration'], ['creation']],
  'request.approved': [['configuration'], ['change', 'allowed']],
  'request.rejected': [['configuration'], ['change', 'denied']],
  'request.waiver_granted': [['configuration'], ['change', 'allowed']],
  'request.code_scan_added': [['configuration'], ['change']],
  'request.deleted': [['configuration'], ['deletion']],
  'request.quarantine_purged': [['configuration'], ['deletion']],
  'approval.revoked': [['configuration'], ['change', 'denied']],
  'approval.unrevoked': [['configuration'], ['change', 'allowed']],
  'approval.at_risk': [['vulnerability'], ['info']],
  'approval.ok': [['vulnerability'], ['info']],
  'approval.review_required': [['vulnerability'], ['info']],
  'approval.review_kept': [['configuration'], ['change', 'allowed']],
  'approval.drift': [['package'], ['change']],
  'findings.updated': [['vulnerability'], ['info']],
  'waiver.expiring': [['configuration'], ['info']],
  'clair.notification_abandoned': [['vulnerability'], ['info'], 'failure'],
  'auth.failed': [['authentication'], ['start'], 'failure'],
  'login.failed': [['authentication'], ['start'], 'failure'],
  'login.succeeded': [['authentication'], ['start'], 'success'],
  'robot.': [['iam'], ['user', 'change']],
  'principal.': [['iam'], ['user', 'change']],
  'audit.': [['configuration'], ['info']],
};

/** Alerts (something a person should look at) as opposed to plain events. */
export const ALERT_ACTIONS: ReadonlySet<string> = new Set(['approval.at_risk', 'approval.review_required', 'approval.drift', 'waiver.expiring', 'clair.notification_abandoned']);

/**
 * The ECS categorization of an event. `kind`: `event` for audit lines, `alert` for alert lines.
 * A status change to `failed` has outcome `failure`; everything recorded happened, so `success`.
 */
export function ecsCategorization(action: string, details: Record<string, unknown> = {}, kind: EcsKind = 'event'): EcsCategorization {
  const rule = RULES[action] ?? Object.entries(RULES).find(([k]) => k.endsWith('.') && action.startsWith(k))?.[1] ?? [['configuration'], ['info']] as Rule;
  const [category, type, outcome] = rule;
  const failed = action === 'request.status_changed' && details.to === 'failed';
  return {
    'event.kind': kind,
    'event.category': category,
    'event.type': action === 'request.status_changed' ? ['change'] : type,
    'event.action': action,
    'event.outcome': outcome ?? (failed ? 'failure' : 'success'),
  };
}

/** The dataset of audit and alert lines. */
export const AUDIT_DATASET = 'portcullis.audit';

/**
 * The ECS fields of a sign-in's log line (the console's token or OIDC sign-in, and an API
 * request whose credential was refused): `authentication`/`start` with its outcome, in the
 * audit dataset, so that ELK finds failed sign-ins with one filter.
 */
export function signInEcs(outcome: 'success' | 'failure', action = outcome === 'success' ? 'login.succeeded' : 'login.failed'): EcsCategorization & { 'event.dataset': string } {
  return { ...ecsCategorization(action), 'event.dataset': AUDIT_DATASET };
}
