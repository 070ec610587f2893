/** Image contents shared by the builtin scanner's unit and integration tests. */
import type { ImageSpec } from '../../../harness/images';

export const DPKG_STATUS = [
  'Package: libssl3',
  'Status: install ok installed',
  'Architecture: amd64',
  'Source: openssl',
  'Version: 3.0.11-1~deb12u1',
  'Description: Secure Sockets Layer toolkit',
  ' continuation line: Source: not-a-field',
  '',
  'Package: libc6',
  'Status: install ok installed',
  'Source: glibc',
  'Version: 2.36-9+deb12u1',
  '',
  'Package: libfoo1',
  'Status: install ok installed',
  'Source: foo (1.2-3)',
  'Version: 1.2-3+b1',
  '',
  'Package: openssl-removed',
  'Status: deinstall ok config-files',
  'Source: openssl',
  'Version: 3.0.0-1',
  '',
].join('\n');

/** A distroless-style status.d entry, deleted by a whiteout in a later layer. */
export const ZLIB_STATUS = 'Package: zlib1g\nSource: zlib\nVersion: 1:1.2.13.dfsg-1\n';

export const OS_RELEASE_DEBIAN = 'PRETTY_NAME="Debian GNU/Linux 12 (bookworm)"\nNAME="Debian GNU/Linux"\nVERSION_ID="12"\nID=debian\n';

const METADATA = (name: string, version: string): string =>
  `Metadata-Version: 2.1\nName: ${name}\nVersion: ${version}\nSummary: x\n\nVersion: 0.0.0 (body, not a header)\n`;

/**
 * Three layers: a Debian base with a dpkg database; then npm and Python packages; then a
 * layer that deletes the zlib status.d entry (whiteout), a Python package (directory
 * whiteout) and earlier node_modules (opaque directory).
 */
export const debianAppImage: ImageSpec = {
  layers: [
    {
      files: {
        'etc/': { type: 'directory' },
        'etc/os-release': { type: 'symlink', linkname: '../usr/lib/os-release' },
        'usr/lib/os-release': OS_RELEASE_DEBIAN,
        'var/lib/dpkg/status': DPKG_STATUS,
        'var/lib/dpkg/status.d/zlib1g': ZLIB_STATUS,
        'var/lib/dpkg/status.d/zlib1g.md5sums': 'abc  usr/lib/libz.so\n',
      },
    },
    {
      files: {
        'app/node_modules/lodash/package.json': JSON.stringify({ name: 'lodash', version: '4.17.20' }),
        'app/node_modules/lodash/test/fixtures/package.json': JSON.stringify({ name: 'minimist', version: '1.2.5' }),
        'app/node_modules/@scope/tool/package.json': JSON.stringify({ name: '@scope/tool', version: '1.0.0' }),
        'opt/old/node_modules/minimist/package.json': JSON.stringify({ name: 'minimist', version: '1.2.5' }),
        'usr/lib/python3/dist-packages/Jinja2-3.1.2.dist-info/METADATA': METADATA('Jinja2', '3.1.2'),
        'usr/lib/python3/dist-packages/requests-2.28.1.egg-info/PKG-INFO': METADATA('requests', '2.28.1'),
      },
    },
    {
      files: {
        'var/lib/dpkg/status.d/.wh.zlib1g': '',
        'usr/lib/python3/dist-packages/.wh.requests-2.28.1.egg-info': '',
        'opt/old/node_modules/.wh..wh..opq': '',
        'opt/old/node_modules/left-pad/package.json': JSON.stringify({ name: 'left-pad', version: '1.3.0' }),
      },
    },
  ],
  config: { User: 'app' },
};

export const alpineImage: ImageSpec = {
  layers: [
    {
      files: {
        'etc/os-release': 'NAME="Alpine Linux"\nID=alpine\nVERSION_ID=3.20.3\n',
        'lib/apk/db/installed': [
          'C:Q1abc=',
          'P:busybox',
          'V:1.36.1-r28',
          'o:busybox',
          'F:bin',
          'R:busybox',
          '',
          'P:ssl_client',
          'V:1.36.1-r28',
          'o:busybox',
          '',
          'P:musl',
          'V:1.2.5-r0',
          'o:musl',
          '',
        ].join('\n'),
      },
    },
  ],
  config: { User: '65534' },
};
