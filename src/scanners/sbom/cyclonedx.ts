/**
 * The builtin scanner's inventory of one digest as a CycloneDX 1.6 JSON SBOM, and back.
 *
 * One component per installed package and place (purl + layer + path): `name`, `version`,
 * `purl`, the path as an evidence occurrence (CycloneDX 1.5+ `evidence.occurrences[].location`),
 * and as properties (names under our `portcullis:` namespace, as the spec asks of private
 * properties): the layer digest, the OSV ecosystem, the source package Debian and Alpine
 * advisories are keyed by, and the platform image manifest(s) that hold it. Those properties
 * make the SBOM complete enough to be matched again (src/monitor/rematch.ts): nothing of the
 * image is read a second time. `metadata.component` is the image (type `container`, its
 * digest as version and an OCI purl), `metadata.tools` the scanner (the 1.5+ object form).
 *
 * The document is a pure function of the inventory: the serial number is derived from the
 * digest, scanner and scan time, so the SBOM served by the API and the one pushed to the
 * registry as a referrer are byte-for-byte the same.
 */
import { createHash } from 'node:crypto';
import { readFileSync } from 'node:fs';
import path from 'node:path';
import { z } from 'zod';
import type { InstalledPackage } from '../packages';
import type { ScannedInventory } from '../builtin/adapter';
import { imagePurl, purlOf } from './purl';

export const CYCLONEDX_MEDIA_TYPE = 'application/vnd.cyclonedx+json';
export const SPEC_VERSION = '1.6';

const P = {
  ecosystem: 'portcullis:package:ecosystem',
  sourceName: 'portcullis:package:source_name',
  sourceVersion: 'portcullis:package:source_version',
  layer: 'portcullis:layer:digest',
  image: 'portcullis:image:manifest_digest',
  platform: 'portcullis:image:platform',
  scanner: 'portcullis:scanner',
  dbVersion: 'portcullis:vulndb:version',
} as const;

const propertySchema = z.object({ name: z.string(), value: z.string().optional() });
const componentSchema = z.object({
  type: z.string(),
  'bom-ref': z.string().optional(),
  name: z.string(),
  version: z.string().optional(),
  purl: z.string().optional(),
  evidence: z.object({ occurrences: z.array(z.object({ location: z.string() })).optional() }).optional(),
  properties: z.array(propertySchema).optional(),
});
/** The parts of a CycloneDX document this service writes and reads back (other fields pass through). */
export const cycloneDxSchema = z.looseObject({
  bomFormat: z.literal('CycloneDX'),
  specVersion: z.string(),
  serialNumber: z.string(),
  version: z.number().int(),
  metadata: z.looseObject({
    timestamp: z.string(),
    component: componentSchema,
    properties: z.array(propertySchema).optional(),
  }),
  components: z.array(componentSchema),
});
export type CycloneDxBom = z.infer<typeof cycloneDxSchema>;
export type CycloneDxComponent = z.infer<typeof componentSchema>;

const TOOL_VERSION = ((): string => {
  for (const up of ['../../..', '../../../..']) {
    try {
      return (JSON.parse(readFileSync(path.join(__dirname, up, 'package.json'), 'utf8')) as { version: string }).version;
    } catch { /* not this level */ }
  }
  return 'unknown';
})();

/** An RFC 4122 (version 5 layout) UUID URN from a name: the same inventory gives the same serial number. */
function serialNumber(name: string): string {
  const h = createHash('sha256').update(name).digest('hex');
  const variant = ((parseInt(h[16]!, 16) & 0x3) | 0x8).toString(16);
  return `urn:uuid:${h.slice(0, 8)}-${h.slice(8, 12)}-5${h.slice(13, 16)}-${variant}${h.slice(17, 20)}-${h.slice(20, 32)}`;
}

export interface SbomSubject {
  /** `host[:port]` of the registry the image is in, for the image's purl. */
  registryHost: string;
}

function placeKey(p: InstalledPackage): string {
  return [p.ecosystem, p.name, p.version, p.sourceName ?? '', p.sourceVersion ?? '', p.layer ?? '', p.path].join('\u0000');
}

export function toCycloneDx(inv: ScannedInventory, subject: SbomSubject): CycloneDxBom {
  const places = new Map<string, { pkg: InstalledPackage; images: Array<{ manifestDigest: string; platform?: string }> }>();
  for (const image of inv.images) {
    for (const pkg of image.packages) {
      const key = placeKey(pkg);
      const seen = places.get(key);
      const where = { manifestDigest: image.manifestDigest, ...(image.platform ? { platform: image.platform } : {}) };
      if (!seen) places.set(key, { pkg, images: [where] });
      else if (!seen.images.some((i) => i.manifestDigest === image.manifestDigest)) seen.images.push(where);
    }
  }
  const components: CycloneDxComponent[] = [...places.entries()].map(([key, { pkg, images }]) => {
    const properties = [
      { name: P.ecosystem, value: pkg.ecosystem },
      ...(pkg.sourceName !== undefined ? [{ name: P.sourceName, value: pkg.sourceName }] : []),
      ...(pkg.sourceVersion !== undefined ? [{ name: P.sourceVersion, value: pkg.sourceVersion }] : []),
      ...(pkg.layer !== undefined ? [{ name: P.layer, value: pkg.layer }] : []),
      ...images.map((i) => ({ name: P.image, value: i.manifestDigest })),
      ...images.flatMap((i) => (i.platform ? [{ name: P.platform, value: i.platform }] : [])),
    ];
    return {
      type: 'library',
      'bom-ref': `pkg-${createHash('sha256').update(key).digest('hex').slice(0, 24)}`,
      name: pkg.name,
      version: pkg.version,
      purl: purlOf(pkg),
      evidence: { occurrences: [{ location: pkg.path }] },
      properties,
    };
  });
  return {
    bomFormat: 'CycloneDX',
    specVersion: SPEC_VERSION,
    serialNumber: serialNumber(`${inv.digest}|${inv.scanner}|${inv.scannedAt}`),
    version: 1,
    metadata: {
      timestamp: inv.scannedAt,
      tools: { components: [{ type: 'application', name: 'portcullis', version: TOOL_VERSION, description: `builtin scanner "${inv.scanner}"` }] },
      component: {
        type: 'container',
        'bom-ref': inv.digest,
        name: `${subject.registryHost}/${inv.repository}`,
        version: inv.digest,
        purl: imagePurl(subject.registryHost, inv.repository, inv.digest),
      },
      properties: [{ name: P.scanner, value: inv.scanner }, { name: P.dbVersion, value: inv.dbVersion }],
    },
    components,
  };
}

const prop = (c: CycloneDxComponent, name: string): string | undefined => c.properties?.find((p) => p.name === name)?.value;

/**
 * The installed packages of each platform image, read back from an SBOM written by
 * {@link toCycloneDx}: keyed by the image manifest digest. Components without our ecosystem
 * property (written by someone else) are skipped: they cannot be matched.
 */
export function packagesByImage(bom: CycloneDxBom): Map<string, InstalledPackage[]> {
  const out = new Map<string, InstalledPackage[]>();
  for (const c of bom.components) {
    const ecosystem = prop(c, P.ecosystem);
    const location = c.evidence?.occurrences?.[0]?.location;
    if (ecosystem === undefined || c.version === undefined || location === undefined) continue;
    const sourceName = prop(c, P.sourceName);
    const sourceVersion = prop(c, P.sourceVersion);
    const layer = prop(c, P.layer);
    const pkg: InstalledPackage = {
      name: c.name, version: c.version, ecosystem, path: location,
      ...(sourceName !== undefined ? { sourceName } : {}),
      ...(sourceVersion !== undefined ? { sourceVersion } : {}),
      ...(layer !== undefined ? { layer } : {}),
    };
    for (const p of c.properties ?? []) {
      if (p.name !== P.image || p.value === undefined) continue;
      const list = out.get(p.value) ?? [];
      list.push(pkg);
      out.set(p.value, list);
    }
  }
  return out;
}
