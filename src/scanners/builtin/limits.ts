/** Bounds on what one scan decompresses; exceeding one fails the scan with `SCAN_LIMIT_EXCEEDED`. */
export interface ScanLimits {
  /** Largest single file (tar entry) in any layer. @defaultValue 2 GiB */
  maxFileBytes: number;
  /** Decompressed bytes of all layers together. @defaultValue 16 GiB */
  maxTotalBytes: number;
  /** Tar entries of all layers together (a flood of empty entries is a bomb too). @defaultValue 2,000,000 */
  maxEntries: number;
}

export const DEFAULT_LIMITS: ScanLimits = {
  maxFileBytes: 2 * 1024 ** 3,
  maxTotalBytes: 16 * 1024 ** 3,
  maxEntries: 2_000_000,
};
