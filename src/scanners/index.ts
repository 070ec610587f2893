/**
 * The scanners: one {@link ScannerAdapter} per configured entry. main.ts calls
 * {@link createScanners} once with the validated `scanners` section, then `check()` on each
 * adapter before it starts work.
 */
export { ScanThreadPool, type ScanThreadPoolOptions } from './builtin/threads/pool';

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
