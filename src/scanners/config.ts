/**
 * The `scanners` section of the configuration: a list of adapters, each chosen by `type`.
 * The config loader includes it as `scanners: scannersConfigSchema`; an unknown `type` or a
 * missing setting fails validation with the key's path (`scanners[1].osvPath`), and names
 * must be unique because reports and stored results are keyed by them.
 */
import { z } from 'zod';
import { builtinScannerConfigSchema } from './builtin/config';
import { DEFAULT_LIMITS } from './builtin/limits';
import { clairScannerConfigSchema } from './clair/config';
import { harborScannerConfigSchema } from './harbor/config';

export const scannerConfigSchema = z.discriminatedUnion('type', [
  builtinScannerConfigSchema,
  clairScannerConfigSchema,
  harborScannerConfigSchema,
]);
export type ScannerConfig = z.infer<typeof scannerConfigSchema>;

/** Where the builtin scanner looks when no `scanners` section is given. */
export const DEFAULT_OSV_PATH = '/var/lib/portcullis/osv';

export const scannersConfigSchema = z
  .array(scannerConfigSchema)
  .default([{ name: 'builtin', type: 'builtin', osvPath: DEFAULT_OSV_PATH, hardening: true, limits: { ...DEFAULT_LIMITS } }])
  .superRefine((list, ctx) => {
    const seen = new Set<string>();
    list.forEach((s, i) => {
      if (seen.has(s.name)) ctx.addIssue({ code: 'custom', path: [i, 'name'], message: `duplicate scanner name "${s.name}"` });
      seen.add(s.name);
    });
  });
export type ScannersConfig = z.infer<typeof scannersConfigSchema>;

/**
 * How staging and the scanners treat an index child that is neither a scannable image nor
 * provably inert (issue 8.1, src/registry/children.ts).
 */
export const scanningConfigSchema = z.strictObject({
  /**
   * `fail`: the request fails with `UNSCANNABLE_CHILD`. `drop`: the child is left out of the
   * staged index, which then has a new digest (the one scanned, approved and pulled).
   * @defaultValue 'fail'
   */
  unscannableChildren: z.enum(['fail', 'drop']).default('fail').describe('an index child that is neither a scannable image nor provably inert: `fail` (the request fails with `UNSCANNABLE_CHILD`) or `drop` (left out of the staged index, which gets a new digest)'),
});
export type ScanningConfig = z.infer<typeof scanningConfigSchema>;
