import { parseApkInstalled } from '../../../../src/scanners/builtin/parsers/apk';
import { parseDpkgStatus } from '../../../../src/scanners/builtin/parsers/dpkg';
import { NPM_MANIFEST, parseNpmManifest } from '../../../../src/scanners/builtin/parsers/npm';
import { distroEcosystem, parseOsRelease } from '../../../../src/scanners/builtin/parsers/os-release';
import { parsePythonMetadata } from '../../../../src/scanners/builtin/parsers/python';
import { classify, normalizeEntryPath } from '../../../../src/scanners/builtin/paths';
import { DPKG_STATUS } from './images';

describe('package database parsers', () => {
  test('dpkg: installed packages only, Source with and without a version', () => {
    expect(parseDpkgStatus(DPKG_STATUS)).toEqual([
      { name: 'libssl3', version: '3.0.11-1~deb12u1', sourceName: 'openssl' },
      { name: 'libc6', version: '2.36-9+deb12u1', sourceName: 'glibc' },
      { name: 'libfoo1', version: '1.2-3+b1', sourceName: 'foo', sourceVersion: '1.2-3' },
    ]);
    expect(parseDpkgStatus('Package: bash\r\nVersion: 5.2-1\r\nSource: bash\r\n')).toEqual([{ name: 'bash', version: '5.2-1' }]);
  });

  test('apk: origin becomes the source name', () => {
    expect(parseApkInstalled('P:ssl_client\nV:1.0-r0\no:busybox\n\nP:musl\nV:1.2-r0\no:musl\nF:lib\n')).toEqual([
      { name: 'ssl_client', version: '1.0-r0', sourceName: 'busybox' },
      { name: 'musl', version: '1.2-r0' },
    ]);
  });

  test('npm: only manifests directly under node_modules', () => {
    expect(NPM_MANIFEST.test('app/node_modules/lodash/package.json')).toBe(true);
    expect(NPM_MANIFEST.test('node_modules/@babel/core/package.json')).toBe(true);
    expect(NPM_MANIFEST.test('node_modules/a/node_modules/b/package.json')).toBe(true);
    expect(NPM_MANIFEST.test('node_modules/lodash/test/package.json')).toBe(false);
    expect(NPM_MANIFEST.test('node_modules/.bin/package.json')).toBe(false);
    expect(NPM_MANIFEST.test('app/package.json')).toBe(false);
    expect(parseNpmManifest('{"name":"a","version":"1.0.0"}')).toEqual([{ name: 'a', version: '1.0.0' }]);
    expect(parseNpmManifest('{"name":"a"}')).toEqual([]);
    expect(parseNpmManifest('{broken')).toEqual([]);
  });

  test('python: headers only', () => {
    expect(parsePythonMetadata('Metadata-Version: 2.1\nName: requests\nVersion: 2.28.1\n\nName: other\n')).toEqual([
      { name: 'requests', version: '2.28.1' },
    ]);
    expect(classify('usr/lib/python3/site-packages/a-1.dist-info/METADATA')).toBe('python');
    expect(classify('usr/lib/python3/site-packages/a-1.egg-info/PKG-INFO')).toBe('python');
    expect(classify('usr/lib/python3/site-packages/a-1.egg-info')).toBe('python');
    expect(classify('usr/lib/python3/site-packages/a-1.dist-info/RECORD')).toBeNull();
  });

  test.each([
    ['ID=debian\nVERSION_ID="12"\n', 'dpkg', 'Debian:12'],
    ['ID=debian\nVERSION_CODENAME=trixie\n', 'dpkg', 'Debian'],
    ['ID=ubuntu\nVERSION_ID="22.04"\n', 'dpkg', 'Ubuntu:22.04'],
    ['ID=linuxmint\nID_LIKE="ubuntu debian"\n', 'dpkg', null],
    ['ID=alpine\nVERSION_ID=3.20.3\n', 'apk', 'Alpine:v3.20'],
    ['ID=wolfi\n', 'apk', null],
  ] as const)('os-release %j with %s → %s', (text, manager, eco) => {
    expect(distroEcosystem(parseOsRelease(text), manager)).toBe(eco);
  });

  test.each([
    ['./etc/passwd', 'etc/passwd'],
    ['/usr//bin/./x', 'usr/bin/x'],
    ['a/../b', null],
    ['..', null],
    ['./', ''],
  ])('normalizeEntryPath(%s) → %s', (input, out) => {
    expect(normalizeEntryPath(input)).toBe(out);
  });
});
