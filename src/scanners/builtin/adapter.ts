/**
 * The builtin scanner: reads the image's layers from the registry as streams, builds the
 * installed-package list and the hardening facts, and matches packages against a local OSV
 * database. An index is scanned platform by platform (every runnable child, see
 * ./image.ts) and the findings merged with their platform (./merge.ts). Layers are read in
 * scan threads (./threads/pool.ts); packages are matched here. The database is reloaded when its files change ({@link fingerprint}), so a
 * `vulndb sync` takes effect without a restart and changes `dbVersion()`.
 */
import { AppError, isAppError } from '../../lib/errors';
import { OsvDatabase } from '../osv/database';
import { fingerprint } from '../osv/loader';
import { summarize, type ScanReport, type ScannerAdapter, type ScanTarget } from '../types';
import { resolveImages, type ResolvedImage } from './image';
import { DEFAULT_LIMITS, newBudget, type ScanBudget, type ScanLimits } from './limits';
import { matchInventory, type PlatformInventory } from './match';
import { sharedScanThreadPool, type ScanThreadPool } from './threads/pool';

/** The inventory one scan found, as the builtin scanner hands it to an {@link InventorySink}. */
export interface ScannedInventory {
  scanner: string;
  digest: string;
  /** The repository it was read from (the quarantine repository). */
  repository: string;
  /** ISO 8601: when the scan started. */
  scannedAt: string;
  dbVersion: string;
  images: PlatformInventory[];
}

/**
 * Where the builtin scanner keeps each digest's inventory (src/monitor/inventory-store.ts), so
 * that new vulnerability data is matched against it later without reading the image again.
 */
export interface InventorySink {
  put(inventory: ScannedInventory, target: ScanTarget): Promise<void>;
}

export interface BuiltinScannerOptions {
  name: string;
  /** Folder of OSV JSON files and/or `all.zip` exports. */
  osvPath: string;
  /** @defaultValue {@link DEFAULT_LIMITS} */
  limits?: Partial<ScanLimits>;
  /** Run the CIS hardening checks. @defaultValue true */
  hardening?: boolean;
  /**
   * The threads that read layers (see ./threads/pool.ts for what runs where).
   * @defaultValue the process's shared pool, one thread per core
   */
  threads?: ScanThreadPool;
  /** Keeps each scanned digest's inventory; main.ts attaches it ({@link BuiltinScanner.keepInventories}). */
  inventories?: InventorySink;
}

export class BuiltinScanner implements ScannerAdapter {
  readonly type = 'builtin' as const;
  readonly name: string;
  private readonly limits: ScanLimits;
  private db: { version: string; db: OsvDatabase } | null = null;
  private loading: Promise<{ version: string; db: OsvDatabase }> | null = null;

  private readonly threads: ScanThreadPool;
  private inventories: InventorySink | undefined;

  constructor(private readonly options: BuiltinScannerOptions) {
    this.name = options.name;
    this.limits = { ...DEFAULT_LIMITS, ...options.limits };
    this.threads = options.threads ?? sharedScanThreadPool();
    this.inventories = options.inventories;
  }

  /** Keeps every later scan's inventory in `sink` (wired once the store exists, in main.ts). */
  keepInventories(sink: InventorySink): void {
    this.inventories = sink;
  }

  /** The loaded OSV index at its current version: what a re-match of a stored inventory runs against. */
  async vulnerabilityData(): Promise<{ version: string; db: OsvDatabase }> {
    return this.database();
  }

  async check(): Promise<void> {
    const { db } = await this.database();
    if (db.loadStats.records === 0) {
      throw new AppError('SCANNER_UNAVAILABLE', `scanner ${this.name}: no OSV records under ${this.options.osvPath}`);
    }
  }

  dbVersion(): Promise<string> {
    return fingerprint(this.options.osvPath);
  }

  /** The loaded database, reloaded when the files changed; concurrent scans share one load. */
  private async database(): Promise<{ version: string; db: OsvDatabase }> {
    const version = await fingerprint(this.options.osvPath);
    if (this.db?.version === version) return this.db;
    if (!this.loading) {
      this.loading = OsvDatabase.load(this.options.osvPath)
        .then((db) => (this.db = { version, db }))
        .finally(() => (this.loading = null));
    }
    return this.loading;
  }

  async scan(target: ScanTarget): Promise<ScanReport> {
    const startedAt = new Date().toISOString();
    const { version, db } = await this.database();
    try {
      const images = await resolveImages(target);
      // One budget for the whole scan, not one per child: the limits bound what one scan job
      // costs the worker, and the uploader chooses how many children an index lists.
      const budget = newBudget();
      const inventories: PlatformInventory[] = [];
      for (const image of images) inventories.push(await this.inventoryImage(target, image, budget));
      // Matching is a function of (inventory, database) alone (./match.ts): a re-match of the
      // stored inventory after a data change gives what a new scan would.
      const findings = matchInventory(inventories, db);
      await this.inventories?.put({ scanner: this.name, digest: target.digest, repository: target.repository, scannedAt: startedAt, dbVersion: version, images: inventories }, target);
      return {
        scanner: this.name,
        status: 'succeeded',
        summary: summarize(findings),
        findings,
        startedAt,
        finishedAt: new Date().toISOString(),
        dbVersion: version,
      };
    } catch (err) {
      // A registry that is down is worth a retry of the whole job; anything else about this
      // image (a bomb, a hostile path, a broken manifest, a digest mismatch) is its verdict.
      if (isAppError(err) && err.temporary) throw err;
      const code = isAppError(err) ? err.code : 'SCAN_FAILED';
      const message = err instanceof Error ? err.message : String(err);
      return {
        scanner: this.name,
        status: 'failed',
        summary: summarize([]),
        findings: [],
        startedAt,
        finishedAt: new Date().toISOString(),
        error: { code, message },
        dbVersion: version,
      };
    }
  }

  /** Packages, coverage and hardening of one platform image, read in a scan thread from the blobs this thread fetches. */
  private async inventoryImage(target: ScanTarget, image: ResolvedImage, budget: ScanBudget): Promise<PlatformInventory> {
    const task = { config: image.config, layers: image.layers.map((l) => l.digest), limits: this.limits, budget, hardening: this.options.hardening !== false };
    const { inventory, budget: used } = await this.threads.inventory(task, (i) => {
      const layer = image.layers[i]!;
      return target.registry.getBlob(target.repository, layer.digest, layer.size);
    });
    Object.assign(budget, used);
    return { ...inventory, manifestDigest: image.manifestDigest, ...(image.platform ? { platform: image.platform } : {}) };
  }
}
