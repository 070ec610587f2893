/**
 * The inventory workstream's monitoring, wired once per process by main.ts: the inventory
 * store and sink (attached to every builtin scanner), the SBOM and scanner-status services the
 * API serves, the re-match and scheduled sync the workers run, and the approved-image referrer
 * on the event bus.
 */
import type Redis from 'ioredis';
import type { EventBus } from '../intake';
import type { Config } from '../lib/config';
import type { Logger } from '../lib/logger';
import type { RegistryClient } from '../registry/types';
import { BuiltinScanner, type ReferrerLocks } from '../scanners';
import type { ScannerAdapter } from '../scanners/types';
import type { ApprovalStore, RequestStore, ScanResultStore } from '../store/types';
import { ApprovedDigests } from './approved-digests';
import { approvedReferrerSubscriber, MonitorInventorySink } from './inventory-sink';
import { RedisInventoryStore } from './inventory-store';
import { RematchService } from './rematch';
import { RedisRematchState } from './rematch-state';
import { SbomService } from './sbom-service';
import { ScannerStatusStore } from './scanner-status';
import { VulndbSyncService, type SyncTarget } from './vulndb-sync';

export interface Inventory {
  inventories: RedisInventoryStore;
  sbom: SbomService;
  scanners: { list(): ReturnType<ScannerStatusStore['list']> };
  status: ScannerStatusStore;
  rematch: RematchService;
  vulndb: VulndbSyncService;
  approved: ApprovedDigests;
  /** The process's scanner adapters (the workers record their data versions). */
  adapters: readonly ScannerAdapter[];
}

export interface InventoryDeps {
  redis: Redis;
  events: EventBus;
  requests: Pick<RequestStore, 'idsByDigest'>;
  approvals: ApprovalStore;
  results: ScanResultStore;
  /** The internal registry's client (referrers are written there). */
  internal: RegistryClient;
  /** The process's scanner adapters as built (before instrumentation); empty in an API-only process. */
  scanners: readonly ScannerAdapter[];
  /** Leases shared by every process around a referrers index update (the Redis step leases). @defaultValue none */
  referrerLocks?: ReferrerLocks;
}

export function buildInventory(config: Config, logger: Logger, d: InventoryDeps): Inventory {
  const log = logger.child({ module: 'monitor' });
  const prefix = config.redis.prefix;
  const registryHost = config.internalRegistry.publicHost ?? new URL(config.internalRegistry.url).host;
  const inventories = new RedisInventoryStore(d.redis, prefix, { registryHost });
  const builtinNames = config.scanners.filter((s) => s.type === 'builtin').map((s) => s.name);
  const builtins = d.scanners.filter((s): s is BuiltinScanner => s instanceof BuiltinScanner);
  // Scanners handed in by tests may be absent from config: their names count too.
  const names = [...new Set([...builtinNames, ...builtins.map((s) => s.name)])];
  const sink = new MonitorInventorySink(inventories, { referrers: config.monitor.sbomReferrers, locks: d.referrerLocks }, log);
  for (const scanner of builtins) scanner.keepInventories(sink);
  if (config.monitor.sbomReferrers) {
    d.events.subscribe(approvedReferrerSubscriber({ store: inventories, approvals: d.approvals, registry: d.internal, scanners: names, logger: log, locks: d.referrerLocks }));
  }
  const status = new ScannerStatusStore(d.redis, prefix, config.scanners.map((s) => ({
    name: s.name, type: s.type, ...(s.type === 'builtin' && s.sync ? { syncEveryMs: s.sync.every } : {}),
  })));
  const approved = new ApprovedDigests(d.redis, prefix);
  const rematch = new RematchService({ inventories, state: new RedisRematchState(d.redis, prefix), approved, events: d.events, logger: log });
  const targets = new Map<string, SyncTarget>();
  for (const entry of config.scanners) {
    if (entry.type !== 'builtin' || !entry.sync) continue;
    const scanner = builtins.find((s) => s.name === entry.name);
    if (scanner) targets.set(entry.name, { scanner, from: entry.sync.from, osvPath: entry.osvPath });
  }
  const vulndb = new VulndbSyncService(targets, status, rematch, log);
  return {
    inventories, status, rematch, vulndb, approved, adapters: d.scanners,
    sbom: new SbomService({ store: inventories, requests: d.requests, approvals: d.approvals, scanners: names }),
    scanners: { list: () => status.list() },
  };
}
