/**
 * Clair v4's wire types, from quay/clair `httptransport/api/v1/openapi.yaml` (API 1.2.0):
 * Manifest and Layer (request), IndexReport, VulnerabilityReport, index_state, error, and
 * the matcher's (internal) update operations. Responses are validated with these schemas;
 * fields Portcullis does not read are allowed through (`looseObject`) so that a newer Clair
 * adding a field does not fail scans, while a missing or mistyped field we rely on does.
 */
import { z } from 'zod';

export const ClairMediaTypes = {
  manifest: 'application/vnd.clair.manifest.v1+json',
  indexReport: 'application/vnd.clair.index_report.v1+json',
  vulnerabilityReport: 'application/vnd.clair.vulnerability_report.v1+json',
  indexState: 'application/vnd.clair.index_state.v1+json',
} as const;

/** IndexReport `state` values (claircore indexer/controller/state.go). */
export const IndexStates = {
  finished: 'IndexFinished',
  error: 'IndexError',
} as const;

/** Layer `media_type` pattern of the spec: only OCI layer types are accepted. */
export const OCI_LAYER_TYPE = /^application\/vnd\.oci\.image\.layer\.v1\.tar(\+(gzip|zstd))?$/;

export interface ClairLayer {
  hash: string;
  uri: string;
  /** HTTP-style headers Clair sends when fetching the layer; values are lists. */
  headers?: Record<string, string[]>;
  media_type?: string;
}

export interface ClairManifest {
  hash: string;
  layers: ClairLayer[];
}

export const indexReportSchema = z.looseObject({
  manifest_hash: z.string(),
  state: z.string(),
  success: z.boolean(),
  err: z.string().optional(),
});
export type IndexReport = z.infer<typeof indexReportSchema>;

export const indexStateSchema = z.looseObject({ state: z.string().min(1) });

const packageSchema = z.looseObject({
  id: z.string().optional(),
  name: z.string(),
  version: z.string(),
  kind: z.string().optional(),
  source: z.looseObject({ name: z.string().optional() }).nullable().optional(),
});

const distributionSchema = z.looseObject({
  id: z.string(),
  did: z.string().optional(),
  name: z.string().optional(),
  version_id: z.string().optional(),
});

const environmentSchema = z.looseObject({
  package_db: z.string().optional(),
  distribution_id: z.string().optional(),
  introduced_in: z.string().optional(),
});

export const NORMALIZED_SEVERITIES = ['Unknown', 'Negligible', 'Low', 'Medium', 'High', 'Critical'] as const;

const vulnerabilitySchema = z.looseObject({
  id: z.string(),
  name: z.string().min(1),
  description: z.string().optional(),
  /** Space-separated URLs (the spec types it as one string). */
  links: z.string().optional(),
  severity: z.string().optional(),
  normalized_severity: z.enum(NORMALIZED_SEVERITIES),
  fixed_in_version: z.string().optional(),
  package: packageSchema.nullable().optional(),
});
export type ClairVulnerability = z.infer<typeof vulnerabilitySchema>;

export const vulnerabilityReportSchema = z.looseObject({
  manifest_hash: z.string(),
  packages: z.record(z.string(), packageSchema),
  distributions: z.record(z.string(), distributionSchema),
  environments: z.record(z.string(), z.array(environmentSchema).nullable()),
  vulnerabilities: z.record(z.string(), vulnerabilitySchema),
  package_vulnerabilities: z.record(z.string(), z.array(z.string()).nullable()),
  enrichments: z.record(z.string(), z.array(z.unknown()).nullable()).optional(),
});
export type VulnerabilityReport = z.infer<typeof vulnerabilityReportSchema>;

/**
 * `GET /matcher/api/v1/internal/update_operation?kind=vulnerability&latest=true`: the latest
 * update operation per updater. Tagged internal/unstable in the spec; used only for dbVersion.
 */
export const updateOperationsSchema = z.record(
  z.string(),
  z.array(z.looseObject({ ref: z.string(), updater: z.string(), fingerprint: z.string().optional(), date: z.string().optional() })),
);

/**
 * The CVSS enrichment (claircore enricher/cvss): `enrichments[<type>][0]` maps a
 * vulnerability's report id to NVD CVSS v3 objects. The type string carries a schema URL
 * that changed across versions, so it is matched by the `enricher=clair.cvss` marker.
 */
export const CVSS_ENRICHER_MARKER = 'enricher=clair.cvss';
export const cvssEnrichmentSchema = z.record(
  z.string(),
  z.array(z.looseObject({ vectorString: z.string().optional(), baseScore: z.number().optional(), version: z.string().optional() })),
);
