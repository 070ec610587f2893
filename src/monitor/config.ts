/**
 * The `monitor` section of the configuration (zod only; lib/config-schema.ts composes it): what
 * happens to an approval after it was made. Durations are strings with a unit (`30s`, `15m`,
 * `6h`, `7d`) and parse to milliseconds; `0d` is allowed where it means "at once" (grace).
 */
import { z } from 'zod';
import { durationMs } from '../lib/duration';

/** A duration string (`500ms`, `30s`, `5m`, `6h`, `7d`) → milliseconds, at least `min`. */
const durationSchema = (min: number) => durationMs(min, { days: true });

/**
 * Grace per severity of the finding that put an approval at risk: how long it may stay at risk
 * before it is revoked (`autoRevoke`) or goes to the approvers as a re-review. The severities
 * below critical and high are not in the issue; 30 days for medium and unknown and 90 for low
 * follow the remediation windows banks' vulnerability standards commonly set (PCI DSS asks
 * critical and high to be fixed within a month; lower ones within a quarter).
 */
const graceSchema = z.strictObject({
  /** @defaultValue '0d' (at once) */
  critical: durationSchema(0).prefault('0d').describe('how long an approval may stay `at_risk` for a critical finding before it is revoked or re-reviewed (`0d`: at once; durations: `30s`, `15m`, `6h`, `7d`)'),
  /** @defaultValue '7d' */
  high: durationSchema(0).prefault('7d').describe('grace for a high finding'),
  /** @defaultValue '30d' */
  medium: durationSchema(0).prefault('30d').describe('grace for a medium finding'),
  /** @defaultValue '90d' */
  low: durationSchema(0).prefault('90d').describe('grace for a low finding'),
  /** @defaultValue '30d' */
  unknown: durationSchema(0).prefault('30d').describe('grace for a finding of unknown severity (and coverage or misconfiguration findings without one)'),
}).prefault({});

export const monitorConfigSchema = z.strictObject({
  /** Grace per severity before an at-risk approval is revoked or re-reviewed. */
  grace: graceSchema,
  /** Past its grace, revoke an at-risk approval (true) or queue it for re-review (false). @defaultValue false */
  autoRevoke: z.boolean().default(false).describe('past the grace, revoke the approval (CI lookups then answer `NOT_APPROVED` with reason `REVOKED`, new Pods are refused; the internal image is kept so that running workloads that restart still pull it, until an admin revokes the digest); `false`: it waits in the approvers\' queue as a re-review (`GET /v1/queue`, `reviews`)'),
  /** How often the health sweep runs (deadlines, waiver expiry, a re-evaluation of every approval). @defaultValue '15m' */
  sweepEvery: durationSchema(1000).prefault('15m').describe('how often the health sweep acts on deadlines (revocation or re-review); the first run of each hour also re-evaluates every approval and raises waiver-expiry alerts'),
  /** Waivers expiring within this window raise `waiver.expiring` (at most once per waiver per day). @defaultValue '7d' */
  waiverWarning: durationSchema(0).prefault('7d').describe('waivers expiring within this window raise `waiver.expiring` (at most once per waiver per day)'),
  /** How often every approved tag is resolved upstream (spread over the period). @defaultValue '6h' */
  driftEvery: durationSchema(1000).prefault('6h').describe('how often every approved tag is resolved upstream (a manifest HEAD through the reverse proxy, spread over the period); a moved tag raises `approval.drift`'),
  /** Days an upstream move stays in the drift history (also capped at 1,000 entries per team). @defaultValue 90 */
  driftHistoryDays: z.number().int().min(1).max(3650).default(90).describe('days each upstream move of an approved tag stays in the drift history (the console\'s Alerts, `GET /v1/drift`); at most the newest 1,000 per team are kept'),
  /** How often approved digests are rescanned by Harbor-type scanners (spread over the period). @defaultValue '24h' */
  rescanEvery: durationSchema(60_000).prefault('24h').describe('how often each approved digest is rescanned by each Harbor-type scanner that scanned it, spread over the period (a stable slot per digest); in the same spread, digests a builtin scanner scanned before inventories were kept are rescanned once through the registry, which keeps their inventory for the re-match'),
  /** When an approved tag moved upstream, file a new request for the team that replaces the approval. @defaultValue false */
  autoRequest: z.boolean().default(false).describe('when an approved tag moved upstream, file a request for the team that `replaces` the approval (its findings fixed and added are shown once scanned)'),
  /** Attach each scanned digest's CycloneDX SBOM to the quarantined and the approved image as an OCI referrer. @defaultValue true */
  sbomReferrers: z.boolean().default(true).describe("attach each scanned digest's CycloneDX SBOM as an OCI 1.1 referrer of the quarantined image, and of the approved image once approved (the `sha256-<hex>` referrers tag is kept too)"),
  /**
   * A Clair notification whose job fails (its callback unreachable, a report unreadable) is
   * retried with doubling delays from `first` up to `max`, until `giveUpAfter` from its arrival;
   * then `clair.notification_abandoned` is raised. Clair itself never delivers it again.
   */
  clairRetry: z.strictObject({
    /** @defaultValue '30s' */
    first: durationSchema(100).prefault('30s').describe('delay before the first retry of a Clair notification whose job failed (its callback unreachable, a vulnerability report unreadable); each next delay doubles'),
    /** @defaultValue '1h' */
    max: durationSchema(100).prefault('1h').describe('longest delay between two retries of a Clair notification'),
    /** @defaultValue '24h' */
    giveUpAfter: durationSchema(1000).prefault('24h').describe('how long after its arrival a Clair notification is retried; then it is given up: alert `clair.notification_abandoned` and `portcullis_clair_notifications_total{outcome="abandoned"}` (it stays at Clair, undeleted)'),
  }).prefault({}),
  snapshots: z.strictObject({
    /** Days of daily snapshots kept per team; older ones are trimmed. @defaultValue 365 */
    retentionDays: z.number().int().min(1).max(3650).default(365).describe('days of daily snapshots kept per team (`GET /v1/snapshots`)'),
  }).prefault({}),
}).prefault({});

export type MonitorConfig = z.infer<typeof monitorConfigSchema>;
export type GraceConfig = MonitorConfig['grace'];
