/**
 * One scheduled refresh of a builtin scanner's OSV data (issue 13.2): the `vulndb sync` logic
 * (../scanners/osv/sync.ts: staged, validated, swapped in), the outcome recorded for
 * `GET /v1/scanners` and the metrics, then, when the data version changed, the re-match of
 * every approved digest from its kept inventory (./rematch.ts). The job that calls it
 * (queue/vulndb-sync.ts) runs in one worker at a time.
 */
import { AppError, isAppError } from '../lib/errors';
import type { HeldLease } from '../lib/lease-wait';
import type { Logger } from '../lib/logger';
import { syncOsv, type SyncOptions, type SyncResult } from '../scanners';
import type { RematchableScanner, RematchResult, RematchService } from './rematch';
import type { ScannerStatusStore } from './scanner-status';

export interface SyncableScanner extends RematchableScanner {
  dbVersion(): Promise<string>;
}

export interface SyncTarget {
  scanner: SyncableScanner;
  from: string[];
  osvPath: string;
}

export interface VulndbSyncOutcome {
  scanner: string;
  before: string;
  after: string;
  sync: SyncResult;
  /** Present when the data changed. */
  rematch?: RematchResult;
}

export class VulndbSyncService {
  constructor(
    private readonly targets: ReadonlyMap<string, SyncTarget>,
    private readonly status: Pick<ScannerStatusStore, 'syncSucceeded' | 'syncFailed'>,
    private readonly rematch: Pick<RematchService, 'rematchAll' | 'behind'>,
    private readonly logger: Logger,
    private readonly syncOptions: Pick<SyncOptions, 'http' | 'maxBytes'> = {},
  ) {}

  /** Names of the scanners with a `sync` section. */
  get scanners(): string[] {
    return [...this.targets.keys()];
  }

  /**
   * Syncs the scanner's data, then re-matches if it changed. `lease`: the sync's lease across
   * workers (queue/vulndb-sync.ts), confirmed right before the data is swapped in and before the
   * re-match, so that a run whose lease lapsed under it (a stalled or cut-off worker, whose job
   * another worker took over) stops with LEASE_LOST instead of swapping or re-matching beside it.
   */
  async sync(name: string, lease?: Pick<HeldLease, 'check'>): Promise<VulndbSyncOutcome> {
    const target = this.targets.get(name);
    if (!target) throw new AppError('NOT_FOUND', `scanner ${name} has no sync configured`);
    const before = await target.scanner.dbVersion();
    let sync: SyncResult;
    try {
      sync = await syncOsv({ from: target.from, to: target.osvPath, ...this.syncOptions, ...(lease ? { beforeSwap: () => lease.check('the swap of the vulnerability data') } : {}) });
    } catch (err) {
      // A lost lease is not the data's failure: the run that holds it now records the outcome.
      if (!isAppError(err) || err.code !== 'LEASE_LOST') await this.status.syncFailed(name, err instanceof Error ? err.message : String(err));
      throw err;
    }
    await this.status.syncSucceeded(name, sync.dbVersion);
    this.logger.info({ scanner: name, records: sync.records, files: sync.files, dbVersion: sync.dbVersion, changed: sync.dbVersion !== before }, 'vulnerability data synced');
    const outcome: VulndbSyncOutcome = { scanner: name, before, after: sync.dbVersion, sync };
    // New data, or a re-match that did not finish last time (its state is behind the data).
    if (sync.dbVersion !== before || await this.rematch.behind(target.scanner.name, sync.dbVersion)) {
      await lease?.check('the re-match');
      outcome.rematch = await this.rematch.rematchAll(target.scanner);
    }
    return outcome;
  }
}
