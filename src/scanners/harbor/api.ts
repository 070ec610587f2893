/**
 * Harbor Scanner Adapter API v1.2 wire types, from goharbor/pluggable-scanner-spec
 * `api/spec/scanner-adapter-openapi-v1.2.yaml`. Only the vulnerability capability is used.
 * Responses are validated; fields Portcullis does not read pass through (`looseObject`).
 */
import { z } from 'zod';

export const HarborMediaTypes = {
  metadata11: 'application/vnd.scanner.adapter.metadata+json; version=1.1',
  metadata10: 'application/vnd.scanner.adapter.metadata+json; version=1.0',
  scanRequest: 'application/vnd.scanner.adapter.scan.request+json; version=1.1',
  scanResponse: 'application/vnd.scanner.adapter.scan.response+json; version=1.0',
  vulnerabilityReport: 'application/vnd.security.vulnerability.report; version=1.1',
  error: 'application/vnd.scanner.adapter.error+json; version=1.0',
  ociManifest: 'application/vnd.oci.image.manifest.v1+json',
  dockerManifest: 'application/vnd.docker.distribution.manifest.v2+json',
} as const;

/** ScannerProperties key carrying the vulnerability database's update time (spec example). */
export const DB_UPDATED_AT = 'harbor.scanner-adapter/vulnerability-database-updated-at';

/** Media types compare without case or spaces around `;` (`a; version=1.1` = `a;version=1.1`). */
export function sameMediaType(a: string, b: string): boolean {
  const norm = (s: string) => s.toLowerCase().split(';').map((p) => p.trim()).join(';');
  return norm(a) === norm(b);
}

const scannerSchema = z.looseObject({ name: z.string().optional(), vendor: z.string().optional(), version: z.string().optional() });

export const metadataSchema = z.looseObject({
  scanner: scannerSchema,
  capabilities: z.array(z.looseObject({
    /** Absent means vulnerability (spec: backward compatibility). */
    type: z.string().optional(),
    consumes_mime_types: z.array(z.string()),
    produces_mime_types: z.array(z.string()),
  })),
  properties: z.record(z.string(), z.string()).optional(),
});
export type ScannerMetadata = z.infer<typeof metadataSchema>;

export interface ScanRequest {
  registry: { url: string; authorization?: string };
  artifact: { repository: string; digest: string; mime_type: string };
  enabled_capabilities?: Array<{ type: 'vulnerability'; produces_mime_types: string[] }>;
}

export const scanResponseSchema = z.looseObject({ id: z.string().min(1) });

export const HARBOR_SEVERITIES = ['Unknown', 'Negligible', 'Low', 'Medium', 'High', 'Critical'] as const;

export const vulnerabilityItemSchema = z.looseObject({
  id: z.string().min(1),
  package: z.string().optional(),
  version: z.string().optional(),
  fix_version: z.string().optional(),
  severity: z.enum(HARBOR_SEVERITIES),
  description: z.string().optional(),
  links: z.array(z.string()).nullable().optional(),
  preferred_cvss: z.looseObject({
    score_v3: z.number().nullable().optional(),
    score_v2: z.number().nullable().optional(),
    vector_v3: z.string().nullable().optional(),
    vector_v2: z.string().nullable().optional(),
  }).nullable().optional(),
  cwe_ids: z.array(z.string()).nullable().optional(),
  vendor_attributes: z.record(z.string(), z.unknown()).nullable().optional(),
  /**
   * Not in the v1.2 document but sent by Harbor's own model and the Trivy adapter
   * (`pkg/harbor/model.go`): the layer that introduced the package.
   */
  layer: z.looseObject({ digest: z.string().optional(), diff_id: z.string().optional() }).nullable().optional(),
});
export type VulnerabilityItem = z.infer<typeof vulnerabilityItemSchema>;

export const vulnerabilityReportSchema = z.looseObject({
  generated_at: z.string().optional(),
  artifact: z.looseObject({ repository: z.string().optional(), digest: z.string().optional() }).optional(),
  scanner: scannerSchema.optional(),
  vulnerabilities: z.array(vulnerabilityItemSchema).nullable().optional(),
});
export type HarborVulnerabilityReport = z.infer<typeof vulnerabilityReportSchema>;
