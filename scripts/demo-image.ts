/**
 * The local stack's demo image: a tiny Debian 12-like filesystem (os-release and a dpkg
 * database) so that the builtin scanner has something real to find with the sample OSV
 * database in config/osv-sample/. It is published to the demo "outside" registry as
 * `demo.local/library/hello:1.0`.
 */
import { buildImage, type BuiltImage } from '../test/harness/images';

export const DEMO_REPOSITORY = 'library/hello';
export const DEMO_TAG = '1.0';

const OS_RELEASE = `PRETTY_NAME="Debian GNU/Linux 12 (bookworm)"
NAME="Debian GNU/Linux"
VERSION_ID="12"
VERSION="12 (bookworm)"
VERSION_CODENAME=bookworm
ID=debian
`;

const DPKG_STATUS = `Package: libssl3
Status: install ok installed
Priority: optional
Section: libs
Architecture: amd64
Source: openssl
Version: 3.0.11-1~deb12u2
Description: Secure Sockets Layer toolkit - shared libraries

Package: zlib1g
Status: install ok installed
Priority: optional
Section: libs
Architecture: amd64
Source: zlib
Version: 1:1.2.13.dfsg-1
Description: compression library - runtime

Package: base-files
Status: install ok installed
Priority: required
Section: admin
Architecture: amd64
Version: 12.4+deb12u5
Description: Debian base system miscellaneous files
`;

export function buildDemoImage(): Promise<BuiltImage> {
  return buildImage({
    layers: [
      { files: { 'etc/os-release': OS_RELEASE, 'var/lib/dpkg/status': DPKG_STATUS } },
      { files: { 'usr/share/hello/greeting.txt': 'Hello from the Portcullis demo image.\n' } },
    ],
    config: { User: '1000:1000', Cmd: ['/bin/cat', '/usr/share/hello/greeting.txt'] },
    history: [
      { created_by: 'ADD rootfs.tar /' },
      { created_by: 'COPY greeting.txt /usr/share/hello/' },
    ],
  });
}
