/**
 * Bounds on one scan; exceeding one fails the scan with `SCAN_LIMIT_EXCEEDED`. For an index
 * the totals cover all its platform images together (one budget per scan, not per child): the
 * bound is on the worker's cost per job, which an index listing many children must not
 * multiply. A layer shared by two children is counted once per child.
 *
 * The first three bound what is read; the last three bound what the scanner builds from it
 * (issue 8.2: twelve 60 MiB dpkg files in a 1.8 MB layer once grew the process to 4.4 GB).
 * The scan thread's heap limit (`worker.scanThreadMemoryMb`) stops whatever these miss.
 */
export interface ScanLimits {
  /** Largest single file (tar entry) in any layer. @defaultValue 2 GiB */
  maxFileBytes: number;
  /** Decompressed bytes of all layers of all platforms together. @defaultValue 16 GiB */
  maxTotalBytes: number;
  /** Tar entries of all layers of all platforms together (a flood of empty entries is a bomb too). @defaultValue 2,000,000 */
  maxEntries: number;
  /** Package records found, all databases and platforms together. @defaultValue 200,000 */
  maxPackages: number;
  /**
   * Bytes of metadata read into memory (package databases, manifests, credential candidates)
   * plus the paths the scanner keeps facts about, all layers together. @defaultValue 256 MiB
   */
  maxMetadataBytes: number;
  /** Records (paragraphs) in one package database file. @defaultValue 100,000 */
  maxDatabaseEntries: number;
}

export const DEFAULT_LIMITS: ScanLimits = {
  maxFileBytes: 2 * 1024 ** 3,
  maxTotalBytes: 16 * 1024 ** 3,
  maxEntries: 2_000_000,
  maxPackages: 200_000,
  maxMetadataBytes: 256 * 1024 ** 2,
  maxDatabaseEntries: 100_000,
};

/** Running totals shared by all layers and platforms of one scan. */
export interface ScanBudget {
  bytes: number;
  entries: number;
  metadataBytes: number;
  packages: number;
}

export function newBudget(): ScanBudget {
  return { bytes: 0, entries: 0, metadataBytes: 0, packages: 0 };
}
