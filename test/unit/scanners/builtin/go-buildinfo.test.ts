import { goPackages, parseModInfo, stdlibVersion } from '../../../../src/scanners/builtin/analyzers/go-buildinfo';

describe('Go build info', () => {
  test.each([
    ['go1.19.8', '1.19.8'],
    ['go1.20', '1.20.0'],
    ['go1.21rc2', '1.21.0-rc.2'],
    ['go1.22.1 X:boringcrypto', '1.22.1'],
    ['devel go1.23-abc123 Tue', null],
  ])('stdlib version of %s is %s', (go, version) => {
    expect(stdlibVersion(go)).toBe(version);
  });

  test('module text: path, main module, deps, a replacement standing for the dep above it', () => {
    const text = [
      'path\texample.com/app/cmd/app',
      'mod\texample.com/app\tv1.4.0\th1:abc=',
      'dep\tgithub.com/a/b\tv1.0.0\th1:x=',
      'dep\tgolang.org/x/net\tv0.0.0-20220127200216-cd36cc0744dd\th1:y=',
      '=>\tgithub.com/fork/net\tv0.17.0\th1:z=',
      'build\t-compiler=gc',
      '',
    ].join('\n');
    const info = { goVersion: 'go1.21.5', ...parseModInfo(text) };
    expect(info.path).toBe('example.com/app/cmd/app');
    expect(goPackages(info)).toEqual([
      { name: 'stdlib', version: '1.21.5' },
      { name: 'example.com/app', version: '1.4.0' },
      { name: 'github.com/a/b', version: '1.0.0' },
      { name: 'github.com/fork/net', version: '0.17.0' },
    ]);
  });

  test('a (devel) main module and a local replacement without a version are not packages', () => {
    const info = { goVersion: 'go1.21.5', ...parseModInfo('mod\tex.com/app\t(devel)\t\ndep\tex.com/lib\tv1.0.0\t\n=>\t../lib\t\t\n') };
    expect(goPackages(info)).toEqual([{ name: 'stdlib', version: '1.21.5' }]);
  });
});
