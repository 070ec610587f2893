import { apkScheme, dpkgScheme, pep440Scheme, schemeForEcosystem, semverScheme } from '../../../../src/scanners/versions';
import type { VersionScheme } from '../../../../src/scanners/versions';
import { normalizePep440 } from '../../../../src/scanners/versions/pep440';

/** Each row reads `a <op> b`; both directions are asserted so an asymmetric bug shows. */
type Row = [string, '<' | '=' | '>', string];

function check(scheme: VersionScheme, rows: Row[]): void {
  test.each(rows)('%s %s %s', (a, op, b) => {
    const sign = Math.sign(scheme.compare(a, b));
    const expected = op === '<' ? -1 : op === '>' ? 1 : 0;
    expect(sign).toBe(expected);
    expect(Math.sign(scheme.compare(b, a))).toBe(-expected || 0);
  });
}

describe('dpkg (Debian Policy 5.6.12)', () => {
  check(dpkgScheme, [
    ['1.0~rc1', '<', '1.0'],
    ['1.0~~', '<', '1.0~~a'],
    ['1.0~~a', '<', '1.0~'],
    ['1.0~', '<', '1.0'],
    ['1.0', '<', '1.0a'],
    ['1.0a', '<', '1.0+'], // letters sort before non-letters
    ['1.0', '<', '1.0-1'],
    ['1.0', '=', '1.0-0'],
    ['0:1.0', '=', '1.0'],
    ['1:0.1', '>', '9.9'], // epoch wins
    ['1.02', '=', '1.2'], // numeric parts compare as numbers
    ['1.10', '>', '1.9'],
    ['2.36-9+deb12u4', '<', '2.36-9+deb12u10'],
    ['7.88.1-10+deb12u5', '<', '7.88.1-10+deb12u7'],
    ['1.2-3-4', '>', '1.2-3-3'], // the revision is after the last hyphen
    ['1.2-3-4', '>', '1.2-2-9'],
    ['3.0.11-1~deb12u2', '<', '3.0.11-1'],
    ['1.0-1ubuntu1', '>', '1.0-1'],
  ]);
  test('rejects what dpkg cannot parse', () => {
    expect(dpkgScheme.isValid('')).toBe(false);
    expect(dpkgScheme.isValid('a:1.0')).toBe(false);
    expect(dpkgScheme.isValid('1.0 beta')).toBe(false);
    expect(dpkgScheme.isValid('2:1.0-1')).toBe(true);
  });
});

describe('apk (apk-tools version.c)', () => {
  check(apkScheme, [
    ['1.0_alpha', '<', '1.0_beta'],
    ['1.0_beta', '<', '1.0_pre'],
    ['1.0_pre', '<', '1.0_rc'],
    ['1.0_rc1', '<', '1.0'],
    ['1.0_rc1', '<', '1.0_rc2'],
    ['1.0', '<', '1.0_p1'],
    ['1.0_p1', '<', '1.0_p2'],
    ['1.0_git20240101', '<', '1.0_p1'],
    ['1.0-r1', '<', '1.0-r2'],
    ['1.0-r9', '<', '1.0-r10'],
    ['1.0', '<', '1.0-r0'],
    ['1.0', '<', '1.0a'],
    ['1.0a', '<', '1.0b'],
    ['1.0z', '<', '1.0.1'],
    ['1.0', '<', '1.0.1'],
    ['1.05', '<', '1.5'], // a leading zero compares as a string
    ['1.0.1~abc123-r0', '<', '1.0.1~abd-r0'],
    ['3.3.1-r0', '<', '3.3.2-r0'],
    ['1.2.3_rc1-r5', '<', '1.2.3-r0'],
    ['2.4.10', '>', '2.4.9'],
    ['1.0-r1', '=', '1.0-r1'],
  ]);
  test('validates the grammar', () => {
    expect(apkScheme.isValid('1.2.3_rc1-r0')).toBe(true);
    expect(apkScheme.isValid('1.0_foo')).toBe(false);
    expect(apkScheme.isValid('1.0-1')).toBe(false);
    expect(apkScheme.isValid('1.0-r1_p1')).toBe(false); // a suffix cannot follow the revision
    expect(apkScheme.isValid('1.0_git20240101~1a2b-r3')).toBe(true);
    expect(apkScheme.isValid('')).toBe(false);
  });
});

describe('semver (npm)', () => {
  check(semverScheme, [
    ['1.0.0-alpha', '<', '1.0.0-alpha.1'],
    ['1.0.0-alpha.1', '<', '1.0.0-alpha.beta'],
    ['1.0.0-beta.2', '<', '1.0.0-beta.11'],
    ['1.0.0-rc.1', '<', '1.0.0'],
    ['1.0.0+build.5', '=', '1.0.0'],
    ['v2.0.0', '>', '1.99.99'],
    ['4.17.20', '<', '4.17.21'],
  ]);
  test('rejects non-semver', () => {
    expect(semverScheme.isValid('1.0')).toBe(false);
    expect(semverScheme.isValid('latest')).toBe(false);
  });
});

describe('PEP 440 (PyPI)', () => {
  check(pep440Scheme, [
    ['1.0.dev0', '<', '1.0a1'],
    ['1.0a1', '<', '1.0a2.dev1'],
    ['1.0a2.dev1', '<', '1.0a2'],
    ['1.0a2', '<', '1.0b1'],
    ['1.0b1', '<', '1.0rc1'],
    ['1.0rc1', '<', '1.0'],
    ['1.0', '<', '1.0.post1.dev0'],
    ['1.0.post1.dev0', '<', '1.0.post1'],
    ['1.0', '<', '1.0+local'],
    ['1.0+abc', '<', '1.0+1'], // numeric local segments sort above alphanumeric ones
    ['1.0+1', '<', '1.0+1.1'],
    ['1.0.post1', '<', '1.1.dev0'],
    ['1.0', '=', '1.0.0'],
    ['1.0-1', '=', '1.0.post1'], // implicit post release
    ['1.0c1', '=', '1.0rc1'],
    ['1.0-ALPHA-1', '=', '1.0a1'],
    ['1!0.1', '>', '2.0'],
    ['v1.2', '=', '1.2'],
  ]);
  test.each([
    ['1.0-ALPHA.1', '1.0a1'],
    ['1.0-r2', '1.0.post2'],
    ['1!2.0_DEV3', '1!2.0.dev3'],
    ['1.0+Ubuntu-1', '1.0+ubuntu.1'],
  ])('normalizes %s to %s', (input, normal) => {
    expect(normalizePep440(input)).toBe(normal);
  });
  test('rejects non-PEP 440', () => {
    expect(pep440Scheme.isValid('1.0-foo')).toBe(false);
    expect(pep440Scheme.isValid('latest')).toBe(false);
  });
});

describe('schemeForEcosystem', () => {
  test.each([
    ['Debian:12', 'dpkg'],
    ['Alpine:v3.20', 'apk'],
    ['npm', 'semver'],
    ['PyPI', 'pep440'],
  ])('%s → %s', (eco, name) => {
    expect(schemeForEcosystem(eco)?.name).toBe(name);
  });
  test('unknown ecosystems have no ordering', () => {
    expect(schemeForEcosystem('Hackage')).toBeNull();
    expect(schemeForEcosystem('Maven')?.name).toBe('maven');
    expect(schemeForEcosystem('Rocky Linux:9')?.name).toBe('rpm');
    expect(schemeForEcosystem('Go')?.name).toBe('semver');
  });
});
