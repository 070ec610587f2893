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
