/**
 * AdmissionReview v1 (admission.k8s.io/v1) as the Kubernetes API server sends it to a webhook, and
 * the response it expects back (Kubernetes docs, "Dynamic Admission Control": the response's
 * `uid` must equal the request's; a mutating webhook returns `patchType: JSONPatch` and a base64
 * RFC 6902 patch). Only what Portcullis reads is typed; the objects themselves stay opaque JSON.
 */
import { z } from 'zod';

const groupVersionKind = z.object({ group: z.string(), version: z.string(), kind: z.string() });

export const admissionReviewSchema = z.object({
  apiVersion: z.literal('admission.k8s.io/v1'),
  kind: z.literal('AdmissionReview'),
  request: z.object({
    uid: z.string().min(1).max(128),
    kind: groupVersionKind,
    resource: z.object({ group: z.string(), version: z.string(), resource: z.string() }),
    subResource: z.string().optional(),
    namespace: z.string().max(253).optional(),
    name: z.string().max(253).optional(),
    operation: z.enum(['CREATE', 'UPDATE', 'DELETE', 'CONNECT']),
    userInfo: z.object({ username: z.string().optional(), uid: z.string().optional(), groups: z.array(z.string()).optional() }).passthrough(),
    object: z.record(z.string(), z.unknown()).nullable().optional(),
    oldObject: z.record(z.string(), z.unknown()).nullable().optional(),
    dryRun: z.boolean().optional(),
    options: z.record(z.string(), z.unknown()).nullable().optional(),
  }).passthrough(),
});
export type AdmissionReview = z.infer<typeof admissionReviewSchema>;
export type AdmissionRequest = AdmissionReview['request'];

/** A review that is not an AdmissionReview v1: where and why (the server answers 400 INVALID_REQUEST). */
export class MalformedReview extends Error {}

const OPERATIONS = new Set(['CREATE', 'UPDATE', 'DELETE', 'CONNECT']);
const isRecord = (v: unknown): v is Record<string, unknown> => typeof v === 'object' && v !== null && !Array.isArray(v);

function fail(path: string, message: string): never {
  throw new MalformedReview(`${path || '(root)'}: ${message}`);
}

function str(o: Record<string, unknown>, key: string, path: string, opt: { optional?: boolean; min?: number; max?: number } = {}): void {
  const v = o[key];
  if (v === undefined && opt.optional) return;
  if (typeof v !== 'string') fail(`${path}${key}`, v === undefined ? 'Required' : 'Expected string');
  if (opt.min !== undefined && v.length < opt.min) fail(`${path}${key}`, `at least ${opt.min} characters`);
  if (opt.max !== undefined && v.length > opt.max) fail(`${path}${key}`, `at most ${opt.max} characters`);
}

function objectOrNull(o: Record<string, unknown>, key: string, path: string): void {
  const v = o[key];
  if (v !== undefined && v !== null && !isRecord(v)) fail(`${path}${key}`, 'Expected object');
}

function gvk(o: Record<string, unknown>, key: string, fields: readonly string[]): void {
  const v = o[key];
  if (!isRecord(v)) fail(`request.${key}`, v === undefined ? 'Required' : 'Expected object');
  for (const f of fields) str(v, f, `request.${key}.`);
}

/**
 * The request of an AdmissionReview v1, checked field by field against the same rules as
 * {@link admissionReviewSchema} (a unit test holds the two to one verdict on every case), but
 * without copying the objects: zod's parse of the whole review (two Pods, opaque records copied
 * key by key) cost more than the decision itself on every Pod the cluster makes. The result is
 * the parsed JSON itself, typed.
 * @throws MalformedReview naming the first offending field.
 */
export function parseAdmissionReview(json: unknown): AdmissionRequest {
  if (!isRecord(json)) fail('', 'Expected object');
  if (json.apiVersion !== 'admission.k8s.io/v1') fail('apiVersion', 'Invalid literal value, expected "admission.k8s.io/v1"');
  if (json.kind !== 'AdmissionReview') fail('kind', 'Invalid literal value, expected "AdmissionReview"');
  const r = json.request;
  if (!isRecord(r)) fail('request', r === undefined ? 'Required' : 'Expected object');
  str(r, 'uid', 'request.', { min: 1, max: 128 });
  gvk(r, 'kind', ['group', 'version', 'kind']);
  gvk(r, 'resource', ['group', 'version', 'resource']);
  str(r, 'subResource', 'request.', { optional: true });
  str(r, 'namespace', 'request.', { optional: true, max: 253 });
  str(r, 'name', 'request.', { optional: true, max: 253 });
  if (typeof r.operation !== 'string' || !OPERATIONS.has(r.operation)) fail('request.operation', 'Invalid enum value');
  const u = r.userInfo;
  if (!isRecord(u)) fail('request.userInfo', u === undefined ? 'Required' : 'Expected object');
  str(u, 'username', 'request.userInfo.', { optional: true });
  str(u, 'uid', 'request.userInfo.', { optional: true });
  if (u.groups !== undefined && !(Array.isArray(u.groups) && u.groups.every((g) => typeof g === 'string'))) fail('request.userInfo.groups', 'Expected array of strings');
  objectOrNull(r, 'object', 'request.');
  objectOrNull(r, 'oldObject', 'request.');
  objectOrNull(r, 'options', 'request.');
  if (r.dryRun !== undefined && typeof r.dryRun !== 'boolean') fail('request.dryRun', 'Expected boolean');
  return r as AdmissionRequest;
}

export interface JsonPatchOp {
  op: 'replace';
  path: string;
  value: string;
}

export interface AdmissionResponse {
  apiVersion: 'admission.k8s.io/v1';
  kind: 'AdmissionReview';
  response: {
    uid: string;
    allowed: boolean;
    status?: { code: number; reason?: string; message: string };
    warnings?: string[];
    patchType?: 'JSONPatch';
    patch?: string;
  };
}

export function admissionResponse(uid: string, r: { allowed: boolean; message?: string; warnings?: string[]; patch?: JsonPatchOp[] }): AdmissionResponse {
  return {
    apiVersion: 'admission.k8s.io/v1',
    kind: 'AdmissionReview',
    response: {
      uid,
      allowed: r.allowed,
      ...(r.allowed ? {} : { status: { code: 403, reason: 'Forbidden', message: r.message ?? 'denied by Portcullis' } }),
      // The API server passes warnings on to kubectl; keep them few and bounded.
      ...(r.warnings?.length ? { warnings: r.warnings.slice(0, 20).map((w) => (w.length > 512 ? `${w.slice(0, 509)}...` : w)) } : {}),
      ...(r.patch?.length ? { patchType: 'JSONPatch' as const, patch: Buffer.from(JSON.stringify(r.patch)).toString('base64') } : {}),
    },
  };
}

const ALLOWED_HEAD = '{"apiVersion":"admission.k8s.io/v1","kind":"AdmissionReview","response":{"uid":';

/**
 * {@link admissionResponse} as JSON. A plain allow, most reviews by far, is written from its one
 * variable part, the uid (JSON.stringify'd, so any string is escaped as the general path would);
 * a unit test holds the two to the same document.
 */
export function admissionResponseJson(uid: string, r: { allowed: boolean; message?: string; warnings?: string[]; patch?: JsonPatchOp[] }): string {
  if (r.allowed && !r.warnings?.length && !r.patch?.length) return `${ALLOWED_HEAD}${JSON.stringify(uid)},"allowed":true}}`;
  return JSON.stringify(admissionResponse(uid, r));
}
