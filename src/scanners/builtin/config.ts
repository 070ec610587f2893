/** The config entry of the builtin scanner (`scanners: [{type: builtin, …}]`). */
import { z } from 'zod';
import { DEFAULT_LIMITS } from './limits';

export const builtinScannerConfigSchema = z.strictObject({
  /** Unique adapter name, shown in reports. */
  name: z.string().min(1).describe('unique name, shown in reports; stored results are keyed by it'),
  type: z.literal('builtin').describe('`builtin`, `clair` or `harbor`'),
  /** Folder of OSV JSON files and/or OSV `all.zip` exports (`portcullis vulndb sync` fills it). */
  osvPath: z.string().min(1).describe('folder of OSV JSON files and/or OSV `all.zip` exports (`portcullis vulndb sync` fills it)'),
  /** Run the CIS Docker Benchmark section 4 checks. @defaultValue true */
  hardening: z.boolean().default(true).describe('builtin: run the CIS Docker Benchmark section 4 checks'),
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
      maxDatabaseEntries: z.number().int().positive().default(DEFAULT_LIMITS.maxDatabaseEntries).describe('builtin: records in one package database file (dpkg status, apk installed); over it → `SCAN_LIMIT_EXCEEDED`'),
    })
    .prefault({}),
});
export type BuiltinScannerConfig = z.infer<typeof builtinScannerConfigSchema>;
