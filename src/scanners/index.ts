/**
 * The scanners: one {@link ScannerAdapter} per configured entry. main.ts calls
 * {@link createScanners} once with the validated `scanners` section, then `check()` on each
 * adapter before it starts work.
 */
export { ScanThreadPool, type ScanThreadPoolOptions } from './builtin/threads/pool';
/** What a scan thread runs (bench:pipeline runs it on the event loop to compare with the threads). */
export { inventoryImage } from './builtin/inventory-image';

export { scannerConfigSchema, scannersConfigSchema, type ScannerConfig, type ScannersConfig } from './config';
export { notJson, parseSarif, parseSarifText, type CodeScan } from './sarif/normalize';
export type { Finding, ScanReport, ScanTarget, ScannerAdapter, Severity } from './types';
export type { RegistryAuthorization, RemoteScannerDeps } from './remote';
export { createScanners } from './create';
export { internalRegistryAuthorization, startScanners } from './start';
export * from './builtin/adapter';
export * from './osv/loader';
export * from './osv/sync';
export * from './sarif/config';
export * from './sarif/limits';
export { syncOsv, type SyncOptions, type SyncResult } from './osv/sync';
export { matchInventory, type VulnerabilityIndex } from './builtin/match';
export { BuiltinScanner } from './builtin/adapter';
export { cycloneDxSchema, packagesByImage, toCycloneDx, type CycloneDxBom, type SbomSubject } from './sbom/cyclonedx';
export { type PlatformInventory } from './builtin/match';
export { type ScannedInventory } from './builtin/adapter';
export { attachSbom, detachSboms, readIndex, referrersTag, type ReferrerOptions } from './sbom/referrer';
export { type ReferrerLocks } from './sbom/referrer-lock';
export { type InventorySink } from './builtin/adapter';
export { type InstalledPackage } from './packages';
export { loadRecords } from './osv/loader';
export { OsvDatabase } from './osv/database';
export { ClairScanner } from './clair/adapter';
export { HarborScanner } from './harbor/adapter';
export { type ClairScannerConfig } from './clair/config';
export { verifyHs256, type PskRefusal } from './clair/psk';
export { callbackProblem as clairCallbackProblem } from './clair/notifier';
export { packageLookupKeys, type AdvisoryMatch } from './osv/database';
export { changedKeys, dataManifestSchema, manifestOf, type DataManifest } from './osv/manifest';
export { UNSCORED_SEVERITY } from './coverage';
export type { OsvRecord } from './osv/schema';
