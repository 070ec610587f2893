/**
 * Clair v4 adapter: construct with `new ClairScanner(config, deps)` in main.ts, where
 * `config` is an entry validated by {@link clairScannerConfigSchema}.
 */
export { ClairScanner, clairManifest } from './adapter';
export { clairScannerConfigSchema, type ClairScannerConfig, type ClairScannerConfigInput } from './config';
export type { Clock, RegistryAuthorization, RemoteScannerDeps } from '../remote';
export { normalizeClairReport } from './normalize';
