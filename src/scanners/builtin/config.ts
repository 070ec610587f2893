/** The config entry of the builtin scanner (`scanners: [{type: builtin, …}]`). */
import { z } from 'zod';
import { durationMs } from '../../lib/duration';
import { DEFAULT_LIMITS } from './limits';

/**
 * `sync`: the workers refresh `osvPath` on a schedule with the `portcullis vulndb sync` logic
 * (one worker at a time), then re-match the approved digests when the data changed.
 */
export const vulndbSyncConfigSchema = z.strictObject({
  /** OSV export URLs (`https://…/Debian/all.zip`) and/or folders, as `vulndb sync --from`. */
  from: z.array(z.string().min(1)).min(1).describe('builtin: OSV export URLs and/or folders (as `vulndb sync --from`) the workers refresh `osvPath` from on a schedule, one worker at a time; when the data changed, every approved digest is re-matched from its stored inventory (no registry traffic)'),
  /** How often. @defaultValue '6h' */
  every: durationMs(60_000).prefault('6h').describe('builtin: how often the scheduled sync runs (`30m`, `6h`)'),
});

export const builtinScannerConfigSchema = z.strictObject({
  /** Unique adapter name, shown in reports. */
  name: z.string().min(1).describe('unique name, shown in reports; stored results are keyed by it'),
  type: z.literal('builtin').describe('`builtin`, `clair` or `harbor`'),
  /** Folder of OSV JSON files and/or OSV `all.zip` exports (`portcullis vulndb sync` fills it). */
  osvPath: z.string().min(1).describe('folder of OSV JSON files and/or OSV `all.zip` exports (`portcullis vulndb sync` fills it)'),
  /** Run the CIS Docker Benchmark section 4 checks. @defaultValue true */
  hardening: z.boolean().default(true).describe('builtin: run the CIS Docker Benchmark section 4 checks'),
  /** Scheduled refresh of the OSV data (unset: only `portcullis vulndb sync` by hand). */
  sync: vulndbSyncConfigSchema.optional(),
  limits: z
    .strictObject({
      /** Largest single file in a layer. @defaultValue 2 GiB */
      maxFileBytes: z.number().int().positive().default(DEFAULT_LIMITS.maxFileBytes).describe('builtin: largest single file in a layer; over it → `SCAN_LIMIT_EXCEEDED`'),
      /** Decompressed bytes of all layers of one scan (every platform of an index together). @defaultValue 16 GiB */
      maxTotalBytes: z.number().int().positive().default(DEFAULT_LIMITS.maxTotalBytes).describe('builtin: decompressed bytes of all layers of one scan (every platform of an index together); over it → `SCAN_LIMIT_EXCEEDED`'),
      /** Tar entries of all layers of one scan (every platform of an index together). @defaultValue 2000000 */
      maxEntries: z.number().int().positive().default(DEFAULT_LIMITS.maxEntries).describe('builtin: tar entries of all layers of one scan (every platform of an index together); over it → `SCAN_LIMIT_EXCEEDED`'),
      /** Package records of one scan, all databases and platforms together. @defaultValue 200000 */
      maxPackages: z.number().int().positive().default(DEFAULT_LIMITS.maxPackages).describe('builtin: package records of one scan, all databases and platforms together; over it → `SCAN_LIMIT_EXCEEDED`'),
      /** Metadata bytes read into memory and paths kept, per scan. @defaultValue 256 MiB */
      maxMetadataBytes: z.number().int().positive().default(DEFAULT_LIMITS.maxMetadataBytes).describe('builtin: metadata bytes read into memory and paths kept, per scan; over it → `SCAN_LIMIT_EXCEEDED`'),
      /** Records in one package database file (dpkg status, apk installed). @defaultValue 100000 */
      maxDatabaseEntries: z.number().int().positive().default(DEFAULT_LIMITS.maxDatabaseEntries).describe('builtin: records in one package database file (dpkg status, apk installed, rpm database); over it → `SCAN_LIMIT_EXCEEDED`'),
    })
    .prefault({}),
});
export type BuiltinScannerConfig = z.infer<typeof builtinScannerConfigSchema>;
