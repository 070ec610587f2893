/** The config entry of the builtin scanner (`scanners: [{type: builtin, …}]`). */
import { z } from 'zod';
import { DEFAULT_LIMITS } from './limits';

export const builtinScannerConfigSchema = z.strictObject({
  /** Unique adapter name, shown in reports. */
  name: z.string().min(1),
  type: z.literal('builtin'),
  /** Folder of OSV JSON files and/or OSV `all.zip` exports (`portcullis vulndb sync` fills it). */
  osvPath: z.string().min(1),
  /** Run the CIS Docker Benchmark section 4 checks. @defaultValue true */
  hardening: z.boolean().default(true),
  limits: z
    .strictObject({
      /** Largest single file in a layer. @defaultValue 2 GiB */
      maxFileBytes: z.number().int().positive().default(DEFAULT_LIMITS.maxFileBytes),
      /** Decompressed bytes of all layers of one scan (every platform of an index together). @defaultValue 16 GiB */
      maxTotalBytes: z.number().int().positive().default(DEFAULT_LIMITS.maxTotalBytes),
      /** Tar entries of all layers of one scan (every platform of an index together). @defaultValue 2000000 */
      maxEntries: z.number().int().positive().default(DEFAULT_LIMITS.maxEntries),
      /** Package records of one scan, all databases and platforms together. @defaultValue 200000 */
      maxPackages: z.number().int().positive().default(DEFAULT_LIMITS.maxPackages),
      /** Metadata bytes read into memory and paths kept, per scan. @defaultValue 256 MiB */
      maxMetadataBytes: z.number().int().positive().default(DEFAULT_LIMITS.maxMetadataBytes),
      /** Records in one package database file (dpkg status, apk installed). @defaultValue 100000 */
      maxDatabaseEntries: z.number().int().positive().default(DEFAULT_LIMITS.maxDatabaseEntries),
    })
    .prefault({}),
});
export type BuiltinScannerConfig = z.infer<typeof builtinScannerConfigSchema>;
