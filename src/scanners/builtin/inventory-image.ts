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
  /** Hardening (misconfiguration) findings; empty when hardening is off. */
  hardening: Finding[];
}

/** Reads `task.layers` through `open(i)` (the i-th layer's decompressed-or-not bytes). */
export async function inventoryImage(task: InventoryTask, open: (index: number) => Readable): Promise<ImageInventory> {
  const fs = new MergedFilesystem();
  for (const [i, digest] of task.layers.entries()) {
    fs.apply(await readLayer(open(i), digest, fs, task.limits, task.budget));
  }
  const { packages } = installedPackages(fs);
  return { packages, hardening: task.hardening ? hardeningFindings(task.config, fs) : [] };
}
