/**
 * The shapes the API answers with, as zod schemas: the response half of the route contracts.
 * Each one named in {@link MODELS} becomes `#/components/schemas/<Name>` in the OpenAPI
 * document. A finding is the scanners' own schema (through intake), so it cannot drift.
 */
import { z } from 'zod';
import { findingSchema, REQUEST_STATUSES, SEVERITIES } from '../intake';
import { PRINCIPAL_SOURCES, ROLES } from '../lib/identity/types';

const time = z.string().describe('ISO 8601 date-time');
const errorInfo = z.object({ code: z.string(), message: z.string() });

export const Severity = z.object(Object.fromEntries(SEVERITIES.map((s) => [s, z.number().int()])) as Record<(typeof SEVERITIES)[number], z.ZodNumber>);

export const ScanReport = z.object({
  scanner: z.string(),
  status: z.enum(['succeeded', 'failed']),
  summary: Severity,
  findings: z.array(findingSchema).optional().describe('the full report (GET of one request); list answers give findingsCount instead'),
  findingsCount: z.number().int().optional(),
  reportId: z.string().optional(),
  startedAt: time,
  finishedAt: time,
  dbVersion: z.string().optional().describe('a stored report is reused (same startedAt) while the scanner\'s dbVersion is unchanged'),
  error: errorInfo.optional(),
});

export const CodeScan = z.object({
  id: z.string(),
  tool: z.string(),
  toolVersion: z.string().optional(),
  uploadedBy: z.string(),
  uploadedAt: time,
  summary: Severity,
  findings: z.array(findingSchema).optional().describe('with more findings than fit on the request, one per rule id and severity (`grouped`); absent in list answers'),
  findingsTotal: z.number().int(),
  grouped: z.boolean(),
  upload: z.object({ sha256: z.string(), bytes: z.number().int(), run: z.number().int() }).optional()
    .describe('the SARIF log this run came from (GET /v1/requests/{id}/code-scans/{sha256}) and its index in it'),
}).describe('One SARIF run.');

export const Waiver = z.object({ findingId: z.string(), reason: z.string(), expires: time, by: z.string(), at: time });

export const Request = z.object({
  id: z.string(),
  image: z.string().describe('the reference as the requester wrote it'),
  team: z.string(),
  requestedBy: z.string(),
  justification: z.string(),
  status: z.enum(REQUEST_STATUSES),
  createdAt: time,
  updatedAt: time,
  source: z.object({ registry: z.string(), repository: z.string(), tag: z.string().optional(), digest: z.string().optional() }),
  platforms: z.array(z.string()),
  stagedDigest: z.string().optional().describe('the digest the internal registry serves, set by staging: what is scanned, approved and pulled. '
    + 'Equals source.digest for byte-for-byte copies; differs when a platform was selected out of an index or the mover re-encodes'),
  scans: z.array(ScanReport),
  codeScans: z.array(CodeScan),
  policy: z.object({
    verdict: z.enum(['pass', 'warn', 'fail']),
    reasons: z.array(z.string()),
    blocking: z.array(z.string()).optional().describe('ids of the findings a waiver must cover'),
  }).nullable(),
  waivers: z.array(Waiver),
  decisions: z.array(z.object({ by: z.string(), decision: z.enum(['approve', 'reject']), comment: z.string(), at: time })),
  internalRef: z.string().nullable(),
  error: errorInfo.nullable(),
  quarantinePurgedAt: time.optional(),
  revocation: z.object({ by: z.string(), at: time, reason: z.string() }).optional(),
  history: z.array(z.object({ status: z.enum(REQUEST_STATUSES), at: time, by: z.string(), note: z.string().optional() })),
});

export const CodeScanUpload = z.object({ sha256: z.string(), bytes: z.number().int(), runs: z.number().int(), alreadyAttached: z.boolean() });

export const ApprovedImage = z.object({
  image: z.string(), digest: z.string(), internalRef: z.string(), team: z.string(), approvedAt: time, approvedBy: z.array(z.string()),
  platforms: z.array(z.string()).describe('the platform set approved; empty = the whole image'),
});

export const InventoryItem = z.object({
  image: z.string(), digest: z.string(), tags: z.array(z.string()), platforms: z.array(z.string()), internalRef: z.string(),
  approvedAt: time, approvedBy: z.array(z.string()), requestId: z.string(),
});

export const Delivery = z.object({
  id: z.string().describe('CloudEvent id = webhook-id, the same at every attempt'),
  endpoint: z.string(), type: z.string(), subject: z.string(), team: z.string().optional(), attempt: z.number().int(),
  outcome: z.enum(['delivered', 'retrying', 'failed', 'disabled']), status: z.number().int().optional(), error: z.string().optional(), at: time,
});

export const AuditEntry = z.object({
  seq: z.number().int(), at: time, actor: z.string(), action: z.string(), target: z.string(), details: z.record(z.string(), z.unknown()),
  prevHash: z.string(), keyId: z.string(), hash: z.string(),
});

export const Robot = z.object({
  id: z.string(), name: z.string(), team: z.string(), roles: z.array(z.enum(ROLES)), createdAt: time, createdBy: z.string(),
  expiresAt: time, expiresInDays: z.number().int(), rotatedAt: time.optional(), disabled: z.boolean(),
  disabledReason: z.enum(['admin', 'expired', 'inactive']).optional(), lastUsedAt: time.optional(),
});

export const Principal = z.object({
  subject: z.string(), name: z.string(), source: z.enum(PRINCIPAL_SOURCES), roles: z.array(z.enum(ROLES)), teams: z.array(z.string()),
  lastSeenAt: time, disabled: z.boolean(), inactive: z.boolean(),
});

/** Named response shapes, in the order the document lists them. */
export const MODELS = { Severity, ScanReport, CodeScan, CodeScanUpload, Waiver, Request, ApprovedImage, InventoryItem, Delivery, AuditEntry, Robot, Principal } as const;

/** A page of `item` with the cursor of the next one (null: the last page). */
export const page = <T extends z.ZodType>(item: T) => z.object({ items: z.array(item), next: z.string().nullable() });

/** The error body every non-2xx JSON answer has (see middleware/errors.ts). */
export const errorBody = (codes: readonly [string, ...string[]]) => z.object({
  error: z.object({ code: z.enum(codes), message: z.string(), details: z.record(z.string(), z.unknown()).optional() }),
});
