/**
 * Shared by the Clair and Harbor stand-ins (test-only): fetch a blob the way a real scanner
 * does (plain HTTP, exactly the headers it was given), verify its digest, and read the little
 * a stand-in "scans" for: the dpkg status database and os-release of a layer. Vulnerabilities
 * come from a small fixture table keyed by package name and installed version, so that a test
 * sees findings derived from what the stand-in really read from the registry.
 */
import { createHash } from 'node:crypto';
import { gunzipSync } from 'node:zlib';
import { extract } from 'tar-stream';

/** One fixture advisory: it affects `package` at exactly the listed installed versions. */
export interface FixtureAdvisory {
  id: string;
  package: string;
  versions: string[];
  fixedIn?: string;
  /** Clair's normalized_severity / Harbor's severity word. */
  severity: 'Unknown' | 'Negligible' | 'Low' | 'Medium' | 'High' | 'Critical';
  description: string;
  links: string[];
  cvssV3?: string;
}

export interface InstalledPackage {
  name: string;
  version: string;
  /** Digest of the layer whose dpkg status listed it last. */
  layer: string;
}

/** Fetches `url` with exactly `headers`, failing like a scanner would on a status or digest problem. */
export async function fetchVerified(url: string, headers: Record<string, string>, digest: string): Promise<Buffer> {
  const res = await fetch(url, { headers });
  if (!res.ok) {
    await res.arrayBuffer();
    throw new Error(`fetching ${digest}: unexpected status code ${res.status} ${res.statusText}`);
  }
  const body = Buffer.from(await res.arrayBuffer());
  const [algo, hex] = digest.split(':');
  if (algo !== 'sha256') throw new Error(`fetching ${digest}: unsupported digest algorithm`);
  const got = createHash('sha256').update(body).digest('hex');
  if (got !== hex) throw new Error(`fetching ${digest}: digest mismatch (got sha256:${got})`);
  return body;
}

/** Files of interest in one layer (gzip or plain tar). */
export async function readLayer(blob: Buffer): Promise<{ dpkgStatus?: string; osRelease?: string }> {
  const tar = blob[0] === 0x1f && blob[1] === 0x8b ? gunzipSync(blob) : blob;
  const found: { dpkgStatus?: string; osRelease?: string } = {};
  const ex = extract();
  const done = new Promise<void>((resolve, reject) => {
    ex.on('entry', (header, stream, next) => {
      const name = header.name.replace(/^\.?\//, '');
      const chunks: Buffer[] = [];
      stream.on('data', (c: unknown) => { chunks.push(c as Buffer); });
      stream.on('end', () => {
        if (name === 'var/lib/dpkg/status') found.dpkgStatus = Buffer.concat(chunks).toString('utf8');
        if (name === 'etc/os-release') found.osRelease = Buffer.concat(chunks).toString('utf8');
        next();
      });
      stream.resume();
    });
    ex.on('finish', resolve);
    ex.on('error', reject);
  });
  ex.end(tar);
  await done;
  return found;
}

/** `Package:`/`Version:` pairs of a dpkg status file. */
export function dpkgPackages(status: string): Array<{ name: string; version: string }> {
  return status.split(/\n\s*\n/).flatMap((stanza) => {
    const name = /^Package:\s*(\S+)/m.exec(stanza)?.[1];
    const version = /^Version:\s*(\S+)/m.exec(stanza)?.[1];
    return name && version ? [{ name, version }] : [];
  });
}

/** ID and VERSION_ID of an os-release file. */
export function osRelease(text: string): { id?: string; versionId?: string } {
  const get = (k: string) => new RegExp(`^${k}="?([^"\\n]*)"?`, 'm').exec(text)?.[1];
  return { id: get('ID'), versionId: get('VERSION_ID') };
}

/** Packages installed after applying layers in order (a later status file replaces earlier ones). */
export async function installedPackages(layers: Array<{ digest: string; blob: Buffer }>): Promise<{ packages: InstalledPackage[]; os?: { id?: string; versionId?: string } }> {
  let packages: InstalledPackage[] = [];
  let os: { id?: string; versionId?: string } | undefined;
  for (const l of layers) {
    const files = await readLayer(l.blob);
    if (files.osRelease) os = osRelease(files.osRelease);
    if (files.dpkgStatus) {
      const before = new Map(packages.map((p) => [`${p.name}=${p.version}`, p.layer]));
      packages = dpkgPackages(files.dpkgStatus).map((p) => ({ ...p, layer: before.get(`${p.name}=${p.version}`) ?? l.digest }));
    }
  }
  return { packages, os };
}

export function matches(fixtures: readonly FixtureAdvisory[], pkg: InstalledPackage): FixtureAdvisory[] {
  return fixtures.filter((f) => f.package === pkg.name && f.versions.includes(pkg.version));
}

/** A small, fixed advisory table for the tests. */
export const FIXTURE_ADVISORIES: FixtureAdvisory[] = [
  {
    id: 'CVE-2099-0001', package: 'openssl', versions: ['3.0.11-1~deb12u1'], fixedIn: '3.0.13-1~deb12u1', severity: 'Critical',
    description: 'openssl: remote code execution in a made-up parser\nMore text.', links: ['https://security-tracker.debian.org/tracker/CVE-2099-0001'],
    cvssV3: 'CVSS:3.1/AV:N/AC:L/PR:N/UI:N/S:U/C:H/I:H/A:H',
  },
  {
    id: 'CVE-2099-0002', package: 'zlib1g', versions: ['1:1.2.13.dfsg-1'], severity: 'Negligible',
    description: 'zlib: theoretical issue', links: ['https://security-tracker.debian.org/tracker/CVE-2099-0002'],
  },
  {
    id: 'CVE-2099-0003', package: 'bash', versions: ['5.2.15-2+b2'], fixedIn: '5.2.15-2+b3', severity: 'Unknown',
    description: 'bash: unrated issue with a CVSS score', links: [],
    cvssV3: 'CVSS:3.1/AV:N/AC:L/PR:N/UI:N/S:U/C:H/I:N/A:N',
  },
];
