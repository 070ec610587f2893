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
    })
    .prefault({}),
});
export type BuiltinScannerConfig = z.infer<typeof builtinScannerConfigSchema>;
