/**
 * The SBOM the builtin scanner's inventory becomes: valid against the official CycloneDX 1.6
 * JSON schema (as shipped in @cyclonedx/cyclonedx-library, with its SPDX and JSF schemas), with
 * purls per purl-spec, and complete enough that matching the SBOM gives the findings matching
 * the inventory gives (the re-match after a data change depends on that).
 */
import { readFileSync } from 'node:fs';
import path from 'node:path';
import Ajv from 'ajv';
import addFormats from 'ajv-formats';
import type { ScannedInventory } from '../../../src/scanners/builtin/adapter';
import { matchInventory } from '../../../src/scanners/builtin/match';
import { OsvDatabase } from '../../../src/scanners/osv/database';
import { purlOf } from '../../../src/scanners/sbom/purl';
import { platformInventories, RedisInventoryStore } from '../../../src/monitor/inventory-store';
import type { Finding } from '../../../src/scanners/types';

const SCHEMA_DIR = path.dirname(require.resolve('@cyclonedx/cyclonedx-library/package.json'));
const schema = (name: string): Record<string, unknown> => JSON.parse(readFileSync(path.join(SCHEMA_DIR, 'res/schema', name), 'utf8'));

let compiled: ((doc: unknown) => { ok: boolean; errors: unknown }) | undefined;

function validator(): (doc: unknown) => { ok: boolean; errors: unknown } {
  if (compiled) return compiled;
  const ajv = new Ajv({ strict: false, allErrors: true });
  addFormats(ajv);
  // Formats ajv-formats lacks (used by fields this SBOM does not write): accepted as strings.
  for (const f of ['iri-reference', 'idn-email']) ajv.addFormat(f, true);
  // The 1.6 schema refers to its companions by these relative names.
  ajv.addSchema({ ...schema('spdx.SNAPSHOT.schema.json'), $id: 'http://cyclonedx.org/schema/spdx.SNAPSHOT.schema.json' });
  ajv.addSchema({ ...schema('jsf-0.82.SNAPSHOT.schema.json'), $id: 'http://cyclonedx.org/schema/jsf-0.82.SNAPSHOT.schema.json' });
  const validate = ajv.compile(schema('bom-1.6.SNAPSHOT.schema.json'));
  compiled = (doc) => ({ ok: validate(doc) as boolean, errors: validate.errors });
  return compiled;
}

const L1 = `sha256:${'1'.repeat(64)}`;
const L2 = `sha256:${'2'.repeat(64)}`;
const L3 = `sha256:${'3'.repeat(64)}`;
const AMD = `sha256:${'a'.repeat(64)}`;
const ARM = `sha256:${'b'.repeat(64)}`;

/** A two-platform index: a shared npm layer, a Debian package built per architecture. */
function inventory(): ScannedInventory {
  const shared = [
    { name: 'lodash', version: '4.17.20', ecosystem: 'npm', path: '/app/node_modules/lodash/package.json', layer: L3 },
    { name: '@babel/core', version: '7.0.0', ecosystem: 'npm', path: '/app/node_modules/@babel/core/package.json', layer: L3 },
    { name: 'Django_Rest', version: '1.0', ecosystem: 'PyPI', path: '/usr/lib/python3/site-packages/Django_Rest-1.0.dist-info/METADATA', layer: L3 },
    { name: 'golang.org/x/net', version: 'v0.1.0', ecosystem: 'Go', path: '/usr/bin/app', layer: L3 },
    { name: 'org.apache.logging.log4j:log4j-core', version: '2.14.1', ecosystem: 'Maven', path: '/app/lib/log4j-core-2.14.1.jar', layer: L3 },
  ];
  const coverage: Finding[] = [];
  const hardening: Finding[] = [{ id: 'PCS-ROOT-USER', aliases: [], kind: 'misconfiguration', severity: 'medium', title: 'runs as root', links: [] }];
  return {
    scanner: 'builtin', digest: `sha256:${'f'.repeat(64)}`, repository: 'quarantine/docker.io/library/app', scannedAt: '2026-12-01T10:00:00.000Z', dbVersion: 'osv-1-abc',
    images: [
      { manifestDigest: AMD, platform: 'linux/amd64', coverage, hardening, packages: [
        ...shared, { name: 'libssl3', version: '3.0.11-1~deb12u1', ecosystem: 'Debian:12', sourceName: 'openssl', sourceVersion: '3.0.11-1~deb12u1', path: '/var/lib/dpkg/status', layer: L1 },
      ] },
      { manifestDigest: ARM, platform: 'linux/arm64', coverage: [], hardening, packages: [
        ...shared, { name: 'libssl3', version: '3.0.11-1~deb12u1', ecosystem: 'Debian:12', sourceName: 'openssl', sourceVersion: '3.0.11-1~deb12u1', path: '/var/lib/dpkg/status', layer: L2 },
        { name: 'musl', version: '1:1.2.4-r2', ecosystem: 'Alpine:v3.19', sourceName: 'musl', path: '/lib/apk/db/installed', layer: L2 },
      ] },
    ],
  };
}

function store(): RedisInventoryStore {
  return new RedisInventoryStore(null as never, 'unit', { registryHost: 'registry.internal:5000' });
}

describe('CycloneDX 1.6 SBOM of an inventory', () => {
  it('validates against the official CycloneDX 1.6 JSON schema', () => {
    const bom = JSON.parse(store().toStored(inventory()).sbom);
    const { ok, errors } = validator()(bom);
    expect(errors).toBeNull();
    expect(ok).toBe(true);
    expect(bom.metadata.component).toMatchObject({ type: 'container', name: 'registry.internal:5000/quarantine/docker.io/library/app', version: `sha256:${'f'.repeat(64)}` });
    expect(bom.metadata.tools.components[0]).toMatchObject({ type: 'application', name: 'portcullis' });
    expect(bom.serialNumber).toMatch(/^urn:uuid:[0-9a-f]{8}-[0-9a-f]{4}-5[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}$/);
  });

  it('the schema check can fail: a component without a name is refused', () => {
    const bom = JSON.parse(store().toStored(inventory()).sbom);
    delete bom.components[0].name;
    expect(validator()(bom).ok).toBe(false);
  });

  it('keeps one component per package and place, listing every platform image that has it', () => {
    const bom = JSON.parse(store().toStored(inventory()).sbom);
    const lodash = bom.components.filter((c: { name: string }) => c.name === 'lodash');
    expect(lodash).toHaveLength(1);
    expect(lodash[0].properties.filter((p: { name: string }) => p.name === 'portcullis:image:manifest_digest').map((p: { value: string }) => p.value)).toEqual([AMD, ARM]);
    // A package built per architecture is in a different layer in each: two components.
    expect(bom.components.filter((c: { name: string }) => c.name === 'libssl3')).toHaveLength(2);
  });

  it('is the same document for the same inventory (served and pushed SBOMs are equal)', () => {
    expect(store().toStored(inventory()).sbom).toBe(store().toStored(inventory()).sbom);
  });

  it('gives purl-spec package URLs per ecosystem', () => {
    expect(purlOf({ name: 'libssl3', version: '3.0.11-1~deb12u1', ecosystem: 'Debian:12' })).toBe('pkg:deb/debian/libssl3@3.0.11-1~deb12u1?distro=debian-12');
    expect(purlOf({ name: 'musl', version: '1:1.2.4-r2', ecosystem: 'Alpine:v3.19' })).toBe('pkg:apk/alpine/musl@1%3A1.2.4-r2?distro=3.19');
    expect(purlOf({ name: '@babel/core', version: '7.0.0', ecosystem: 'npm' })).toBe('pkg:npm/%40babel/core@7.0.0');
    expect(purlOf({ name: 'Django_Rest', version: '1.0', ecosystem: 'PyPI' })).toBe('pkg:pypi/django-rest@1.0');
    expect(purlOf({ name: 'golang.org/x/net', version: 'v0.1.0', ecosystem: 'Go' })).toBe('pkg:golang/golang.org/x/net@v0.1.0');
    expect(purlOf({ name: 'org.apache.logging.log4j:log4j-core', version: '2.14.1', ecosystem: 'Maven' })).toBe('pkg:maven/org.apache.logging.log4j/log4j-core@2.14.1');
    expect(purlOf({ name: 'bash', version: '5.1.8-6.el9', ecosystem: 'Rocky Linux:9' })).toBe('pkg:rpm/rocky/bash@5.1.8-6.el9?distro=rocky-9');
  });

  it('matching the stored SBOM gives the findings matching the inventory gives', () => {
    const db = new OsvDatabase();
    db.add({ id: 'GHSA-35jh-r3h4-6jhm', modified: '2021-01-01T00:00:00Z', aliases: ['CVE-2021-23337'], summary: 'lodash', affected: [{ package: { ecosystem: 'npm', name: 'lodash' }, ranges: [{ type: 'SEMVER', events: [{ introduced: '0' }, { fixed: '4.17.21' }] }] }] } as never);
    db.add({ id: 'DSA-9999-1', modified: '2021-01-01T00:00:00Z', summary: 'openssl', affected: [{ package: { ecosystem: 'Debian:12', name: 'openssl' }, ranges: [{ type: 'ECOSYSTEM', events: [{ introduced: '0' }, { fixed: '3.0.13-1~deb12u1' }] }] }] } as never);
    const inv = inventory();
    const direct = matchInventory(inv.images, db);
    const stored = store().toStored(inv);
    const again = matchInventory(platformInventories(JSON.parse(JSON.stringify(stored))), db);
    const key = (f: Finding) => JSON.stringify([f.id, f.package, f.layer, f.path, f.platform, f.kind]);
    expect(again.map(key).sort()).toEqual(direct.map(key).sort());
    // Both advisories found, lodash once for both platforms (shared layer), openssl once per platform.
    expect(direct.filter((f) => f.id === 'GHSA-35jh-r3h4-6jhm').map((f) => f.platform)).toEqual(['linux/amd64,linux/arm64']);
    expect(direct.filter((f) => f.id === 'DSA-9999-1').map((f) => f.platform).sort()).toEqual(['linux/amd64', 'linux/arm64']);
  });
});
