/**
 * Bounds on what one scan decompresses; exceeding one fails the scan with `SCAN_LIMIT_EXCEEDED`.
 * For an index the totals cover all its platform images together (one budget per scan, not
 * per child): the bound is on the worker's cost per job, which an index listing many
 * children must not multiply. A layer shared by two children is counted once per child.
 */
export interface ScanLimits {
  /** Largest single file (tar entry) in any layer. @defaultValue 2 GiB */
  maxFileBytes: number;
  /** Decompressed bytes of all layers of all platforms together. @defaultValue 16 GiB */
  maxTotalBytes: number;
  /** Tar entries of all layers of all platforms together (a flood of empty entries is a bomb too). @defaultValue 2,000,000 */
  maxEntries: number;
}

export const DEFAULT_LIMITS: ScanLimits = {
  maxFileBytes: 2 * 1024 ** 3,
  maxTotalBytes: 16 * 1024 ** 3,
  maxEntries: 2_000_000,
};
