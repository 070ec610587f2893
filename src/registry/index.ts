/**
 * The registry layer's public surface: what the intake pipeline, the scanners, main.ts and
 * the CLI import. Everything else in this folder is an implementation detail.
 */
export * from './types';
export * from './mover';
export { parseReference, formatReference, apiReference, normalizeRegistryHost, isValidDigest, type ImageRef } from './reference';
export { RegistryError, isTemporary, type DistributionError } from './errors';
export { withRetry, type RetryPolicy } from './retry';
export { DistributionClient, type ClientOptions } from './client';
export type { Credentials } from './auth';
export { MAX_MANIFEST_SIZE, MAX_LAYERS_PER_MANIFEST, parseManifest, parsedManifest, type ParsedManifest } from './manifest';
export { copyImage, type CopySource, type CopyTarget } from './copy';
export { UpstreamResolver, type ClientProvider, type ResolverOptions } from './resolver';
export { StagedBlobs, type StagedBlobsOptions } from './staged-blobs';
export { RegistryMover, type RegistryMoverDefaults } from './registry-mover';
export { parsePlatform, formatPlatform, platformMatches } from './platform';
export { toolClient, parseCredentials, type ToolClientOptions } from './tool-clients';
export * from './children';
export { ManifestBudget, MAX_IMAGE_MANIFEST_BYTES, MAX_IMAGE_LAYER_DESCRIPTORS, type ManifestBudgetLimits } from './manifest-budget';
export * from './movers/from-config';
export * from './upload-cleanup';
