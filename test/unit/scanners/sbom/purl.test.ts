/**
 * purls of rpm packages (purl-spec's rpm type; Red Hat's purl guidelines for its own packages):
 * vendor namespace, `<version>-<release>` as the version, a non-zero epoch as the `epoch`
 * qualifier; `distro=<vendor>-<release>` for Rocky, Alma and Fedora, none for Red Hat.
 */
import { purlOf } from '../../../../src/scanners/sbom/purl';

const rpm = (name: string, version: string, ecosystem: string): string => purlOf({ name, version, ecosystem });

describe('rpm package URLs', () => {
  it('names RHEL and UBI packages as Red Hat does: pkg:rpm/redhat/<name>@<version>-<release>, no distro', () => {
    // The ecosystem os-release gives RHEL 9 and UBI 9 (ID=rhel).
    expect(rpm('bash', '5.1.8-6.el9', 'Red Hat:enterprise_linux:9')).toBe('pkg:rpm/redhat/bash@5.1.8-6.el9');
    expect(rpm('openssl-libs', '1:3.0.7-27.el9', 'Red Hat:enterprise_linux:9')).toBe('pkg:rpm/redhat/openssl-libs@3.0.7-27.el9?epoch=1');
    // Red Hat's own example release, with `+` in it (percent-encoded in the version).
    expect(rpm('libecap', '1.0.1-2.module+el8.1.0+4044+36416a77', 'Red Hat:enterprise_linux:8')).toBe('pkg:rpm/redhat/libecap@1.0.1-2.module%2Bel8.1.0%2B4044%2B36416a77');
  });

  it('keeps Rocky, Alma and Fedora as the spec writes them, the epoch as a qualifier', () => {
    expect(rpm('bash', '5.1.8-6.el9', 'Rocky Linux:9')).toBe('pkg:rpm/rocky/bash@5.1.8-6.el9?distro=rocky-9');
    expect(rpm('openssl-libs', '1:3.0.7-16.el9', 'Rocky Linux:9')).toBe('pkg:rpm/rocky/openssl-libs@3.0.7-16.el9?distro=rocky-9&epoch=1');
    expect(rpm('bash', '5.1.8-9.el9', 'AlmaLinux:9')).toBe('pkg:rpm/almalinux/bash@5.1.8-9.el9?distro=almalinux-9');
    expect(rpm('curl', '7.50.3-1.fc25', 'Fedora:25')).toBe('pkg:rpm/fedora/curl@7.50.3-1.fc25?distro=fedora-25');
  });

  it('writes no epoch qualifier for epoch 0, and leaves a version without one as it is', () => {
    expect(rpm('tzdata', '0:2024a-1.el9', 'Rocky Linux:9')).toBe('pkg:rpm/rocky/tzdata@2024a-1.el9?distro=rocky-9');
    expect(rpm('tzdata', '2024a-1.el9', 'Red Hat:enterprise_linux:9')).toBe('pkg:rpm/redhat/tzdata@2024a-1.el9');
  });
});
