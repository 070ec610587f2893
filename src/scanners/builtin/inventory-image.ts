/**
 * What a scan thread does for one platform image: read its layers in order into the merged
 * filesystem view, then list the installed packages and run the hardening checks. Layers come
 * as streams (decompression and tar parsing happen here); matching the packages against the
 * OSV database is left to the caller, which holds the one loaded database of the process.
 */
import type { Readable } from 'node:stream';
import type { InstalledPackage } from '../packages';
import type { Finding } from '../types';
import { MergedFilesystem } from './filesystem';
import { hardeningFindings } from './hardening';
import type { ImageConfig } from './image';
import { installedPackages } from './inventory';
import { readLayer } from './layer-reader';
import { goCoverageFindings } from './analyzers/go-binary';
import { javaCoverageFindings } from './java-coverage';
import { osCoverageFindings } from './os-coverage';
import { withoutOsOwned } from './os-owned';
import type { ScanBudget, ScanLimits } from './limits';

export interface InventoryTask {
  config: ImageConfig;
  /** Layer digests, bottom first. */
  layers: string[];
  limits: ScanLimits;
  /** What the scan has used so far (earlier children of an index); updated in place. */
  budget: ScanBudget;
  hardening: boolean;
}

export interface ImageInventory {
  packages: InstalledPackage[];
  /** What could not be checked (an OS not inventoried, a Go binary without build info). */
  coverage: Finding[];
  /** Hardening (misconfiguration) findings; empty when hardening is off. */
  hardening: Finding[];
}

/** Reads `task.layers` through `open(i)` (the i-th layer's decompressed-or-not bytes). */
export async function inventoryImage(task: InventoryTask, open: (index: number) => Readable): Promise<ImageInventory> {
  const fs = new MergedFilesystem();
  for (const [i, digest] of task.layers.entries()) {
    fs.apply(await readLayer(open(i), digest, fs, task.limits, task.budget));
  }
  const { os, ...inventory } = installedPackages(fs);
  // Language packages an OS package owns are left to the OS advisories (./os-owned.ts).
  const packages = withoutOsOwned(inventory.packages, fs);
  const coverage = [...osCoverageFindings(fs, os), ...goCoverageFindings(fs), ...javaCoverageFindings(fs)];
  return { packages, coverage, hardening: task.hardening ? hardeningFindings(task.config, fs) : [] };
}
