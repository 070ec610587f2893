/**
 * Harbor pluggable-scanner adapter: construct with `new HarborScanner(config, deps)` in
 * main.ts, where `config` is an entry validated by {@link harborScannerConfigSchema}.
 */
export { HarborScanner, capabilityProblem } from './adapter';
export { harborScannerConfigSchema, type HarborScannerConfig, type HarborScannerConfigInput } from './config';
export type { Clock, RegistryAuthorization, RemoteScannerDeps } from '../remote';
export { normalizeHarborReport } from './normalize';
