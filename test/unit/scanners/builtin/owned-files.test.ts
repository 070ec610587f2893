import { apkOwnedFiles, parseDpkgList } from '../../../../src/scanners/builtin/parsers/owned-files';

describe('OS package file lists', () => {
  test('dpkg .list: only language-package metadata paths are kept, normalized', () => {
    const list = [
      '/.',
      '/usr',
      '/usr/lib/python3/dist-packages/urllib3-1.26.12.egg-info',
      '/usr/lib/python3/dist-packages/urllib3-1.26.12.egg-info/PKG-INFO',
      '/usr/lib/python3/dist-packages/urllib3-1.26.12.egg-info/top_level.txt',
      '/usr/lib/python3/dist-packages/urllib3/__init__.py',
      '/usr/lib/python3/dist-packages/six-1.16.0.dist-info/METADATA',
      '/usr/share/nodejs/node_modules/acorn/package.json',
      '/usr/share/nodejs/acorn/package.json',
      '',
    ].join('\n');
    expect(parseDpkgList(list)).toEqual([
      // An .egg-info may be a single file, so the directory's own line is kept too.
      'usr/lib/python3/dist-packages/urllib3-1.26.12.egg-info',
      'usr/lib/python3/dist-packages/urllib3-1.26.12.egg-info/PKG-INFO',
      'usr/lib/python3/dist-packages/six-1.16.0.dist-info/METADATA',
      'usr/share/nodejs/node_modules/acorn/package.json',
    ]);
  });

  test('apk: R: files under their F: directory, per package record', () => {
    const db = [
      'P:py3-urllib3', 'V:1.26.18-r0', 'F:usr/lib/python3.11/site-packages/urllib3-1.26.18.dist-info', 'R:METADATA', 'R:RECORD',
      'F:usr/lib/python3.11/site-packages/urllib3', 'R:__init__.py', '',
      'P:busybox', 'V:1.36.1-r28', 'R:METADATA', '',
    ].join('\n');
    expect(apkOwnedFiles(db)).toEqual(['usr/lib/python3.11/site-packages/urllib3-1.26.18.dist-info/METADATA']);
  });
});
