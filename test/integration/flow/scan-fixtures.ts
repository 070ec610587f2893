/**
 * Fixtures of the scan and policy flow tests: a Debian 12 image whose dpkg database holds a
 * package the OSV fixture in test/fixtures/osv-e2e/ marks critical and fixable, a private copy
 * of that database (so a test may add a record), and a scanner that counts the scans it
 * really runs around the real builtin scanner.
 */
import { cpSync } from 'node:fs';
import path from 'node:path';
import { BuiltinScanner } from '../../../src/scanners/builtin/adapter';
import type { ScannerAdapter, ScanReport, ScanTarget } from '../../../src/scanners/types';
import { tempDir } from '../../harness/proc';
import { buildImage, type BuiltImage } from '../../harness/images';

export const ADVISORY = 'PCS-E2E-2025-0001';
export const ADVISORY_ALIAS = 'CVE-2099-0001';
export const FIXED_VERSION = '2.4.1-3+deb12u1';
export const INSTALLED_VERSION = '2.4.1-3';

const OS_RELEASE = 'PRETTY_NAME="Debian GNU/Linux 12 (bookworm)"\nNAME="Debian GNU/Linux"\nVERSION_ID="12"\nVERSION_CODENAME=bookworm\nID=debian\n';

// The binary package differs from its source on purpose: Debian advisories are keyed by source.
const DPKG_STATUS = `Package: libgate2
Status: install ok installed
Architecture: amd64
Source: libgate
Version: ${INSTALLED_VERSION}
Description: frame gateway library

Package: base-files
Status: install ok installed
Architecture: amd64
Version: 12.4+deb12u5
Description: Debian base system miscellaneous files
`;

export function buildVulnerableImage(): Promise<BuiltImage> {
  return buildImage({
    layers: [
      { files: { 'etc/os-release': OS_RELEASE, 'var/lib/dpkg/status': DPKG_STATUS } },
      { files: { 'usr/share/gate/README': 'gate\n' } },
    ],
    config: { User: '1000:1000' },
  });
}

/** A copy of test/fixtures/osv-e2e/ in a temp folder. */
export function privateOsvDb(): string {
  const dir = path.join(tempDir('osv-e2e'), 'db');
  cpSync(path.resolve(__dirname, '../../fixtures/osv-e2e'), dir, { recursive: true });
  return dir;
}

/** The real builtin scanner, counting the scans it runs (reused reports never reach it). */
export class CountingScanner implements ScannerAdapter {
  readonly type = 'builtin' as const;
  scans = 0;
  private readonly inner: BuiltinScanner;

  constructor(readonly name: string, osvPath: string) {
    this.inner = new BuiltinScanner({ name, osvPath });
  }

  check(): Promise<void> { return this.inner.check(); }
  dbVersion(): Promise<string> { return this.inner.dbVersion(); }

  async scan(target: ScanTarget): Promise<ScanReport> {
    this.scans += 1;
    return this.inner.scan(target);
  }
}

/** A second advisory on the same source package: low severity, so the verdict stays as waived. */
export function lowAdvisory(id: string): string {
  return JSON.stringify({
    schema_version: '1.6.0', id, modified: '2025-02-01T00:00:00Z', summary: 'libgate: log line truncated (test fixture, low)',
    severity: [{ type: 'CVSS_V3', score: 'CVSS:3.1/AV:L/AC:H/PR:H/UI:R/S:U/C:N/I:L/A:N' }],
    affected: [{ package: { ecosystem: 'Debian:12', name: 'libgate' }, ranges: [{ type: 'ECOSYSTEM', events: [{ introduced: '0' }, { fixed: '2.4.2-1' }] }] }],
  });
}
