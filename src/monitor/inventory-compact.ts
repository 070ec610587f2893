/**
 * The matching form of a kept inventory: exactly the packages the re-match reads from the
 * stored SBOM (./inventory-store.ts `platformInventories`), in the same order, as columns of
 * strings with the ecosystems and layers written once. It is kept beside the SBOM because
 * reading a fleet back through the SBOM (inflate, JSON.parse of one object per component, the
 * schema, the properties walk) cost more than matching it: the re-match of 1,000 digests of
 * ~1,100 packages spent a third of its time there (bench:monitor, issue 13). The SBOM stays the
 * record that is served and pushed; this form is derived from it when it is kept, so both give
 * the same findings.
 */
import { z } from 'zod';
import type { InstalledPackage, PlatformInventory } from '../scanners';
import { findingSchema } from '../scanners/types';

/** `-1` in an index column: the package has no such value (no layer, no source package). */
const NONE = -1;

// Columns hold a million values across a fleet: checked with one predicate per column rather
// than one schema per element (zod's per-element arrays cost as much as the JSON.parse).
const stringColumn = z.custom<string[]>((v) => Array.isArray(v) && v.every((x) => typeof x === 'string'), 'expected an array of strings');
const indexColumn = z.custom<number[]>((v) => Array.isArray(v) && v.every((x) => Number.isInteger(x) && (x as number) >= NONE), 'expected an array of indexes');
const rowsColumn = z.custom<number[]>((v) => Array.isArray(v) && v.every((x) => Number.isInteger(x) && (x as number) >= 0), 'expected an array of rows');

export const compactInventorySchema = z.object({
  v: z.literal(1),
  /** Distinct strings of the ecosystem, layer and source columns (they repeat across packages). */
  dict: stringColumn,
  name: stringColumn,
  version: stringColumn,
  path: stringColumn,
  ecosystem: indexColumn,
  layer: indexColumn,
  sourceName: indexColumn,
  sourceVersion: indexColumn,
  images: z.array(z.object({
    manifestDigest: z.string(),
    platform: z.string().optional(),
    /** Rows of this image, in its order; absent when it holds every row in row order (a single-platform digest). */
    rows: rowsColumn.optional(),
    coverage: z.array(findingSchema),
    hardening: z.array(findingSchema),
  })),
}).refine((c) => {
  const n = c.name.length;
  const columns = [c.version, c.path, c.ecosystem, c.layer, c.sourceName, c.sourceVersion];
  if (!columns.every((col) => col.length === n)) return false;
  const inDict = (i: number): boolean => i < c.dict.length;
  return c.ecosystem.every((i) => i >= 0 && inDict(i)) && [c.layer, c.sourceName, c.sourceVersion].every((col) => col.every(inDict))
    && c.images.every((img) => (img.rows ?? []).every((r) => r < n));
}, { message: 'columns of different lengths or an index out of range' });
export type CompactInventory = z.infer<typeof compactInventorySchema>;

/** The compact form of `images` (as `platformInventories` reads them from the SBOM). */
export function toCompact(images: readonly PlatformInventory[]): CompactInventory {
  const dict: string[] = [];
  const dictIndex = new Map<string, number>();
  const intern = (s: string | undefined): number => {
    if (s === undefined) return NONE;
    let i = dictIndex.get(s);
    if (i === undefined) {
      i = dict.push(s) - 1;
      dictIndex.set(s, i);
    }
    return i;
  };
  // `platformInventories` gives one object per SBOM component, shared by the images holding it.
  const rowOf = new Map<InstalledPackage, number>();
  const out: CompactInventory = { v: 1, dict, name: [], version: [], path: [], ecosystem: [], layer: [], sourceName: [], sourceVersion: [], images: [] };
  for (const image of images) {
    const rows: number[] = [];
    for (const pkg of image.packages) {
      let row = rowOf.get(pkg);
      if (row === undefined) {
        row = out.name.push(pkg.name) - 1;
        out.version.push(pkg.version);
        out.path.push(pkg.path);
        out.ecosystem.push(intern(pkg.ecosystem));
        out.layer.push(intern(pkg.layer));
        out.sourceName.push(intern(pkg.sourceName));
        out.sourceVersion.push(intern(pkg.sourceVersion));
        rowOf.set(pkg, row);
      }
      rows.push(row);
    }
    out.images.push({ manifestDigest: image.manifestDigest, ...(image.platform ? { platform: image.platform } : {}), rows, coverage: image.coverage, hardening: image.hardening });
  }
  // The single-image case (most digests) needs no row list at all.
  for (const image of out.images) {
    if (image.rows && image.rows.length === out.name.length && image.rows.every((r, i) => r === i)) delete image.rows;
  }
  return out;
}

/** The platform inventories of a compact record: the same packages, in the same order, as from the SBOM. */
export function fromCompact(c: CompactInventory): PlatformInventory[] {
  const at = (i: number): string | undefined => (i === NONE ? undefined : c.dict[i]);
  const rows: InstalledPackage[] = c.name.map((name, i) => {
    // Same keys, in the same order, as the SBOM reader builds (../scanners/sbom/cyclonedx.ts).
    const pkg: InstalledPackage = { name, version: c.version[i]!, ecosystem: c.dict[c.ecosystem[i]!]!, path: c.path[i]! };
    const sourceName = at(c.sourceName[i]!);
    if (sourceName !== undefined) pkg.sourceName = sourceName;
    const sourceVersion = at(c.sourceVersion[i]!);
    if (sourceVersion !== undefined) pkg.sourceVersion = sourceVersion;
    const layer = at(c.layer[i]!);
    if (layer !== undefined) pkg.layer = layer;
    return pkg;
  });
  return c.images.map((image) => ({
    manifestDigest: image.manifestDigest,
    ...(image.platform ? { platform: image.platform } : {}),
    packages: image.rows ? image.rows.map((r) => rows[r]!) : rows,
    coverage: image.coverage,
    hardening: image.hardening,
  }));
}
