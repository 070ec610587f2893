import { execFileSync } from 'node:child_process';
import { compareRpm, rpmvercmp } from '../../../../src/scanners/versions/rpm';

// rpm's own test cases for rpmvercmp (tests/rpmvercmp.at in rpm-software-management/rpm).
const RPMVERCMP: Array<[string, string, number]> = [
  ['1.0', '1.0', 0], ['1.0', '2.0', -1], ['2.0', '1.0', 1],
  ['2.0.1', '2.0.1', 0], ['2.0', '2.0.1', -1], ['2.0.1', '2.0', 1],
  ['2.0.1a', '2.0.1a', 0], ['2.0.1a', '2.0.1', 1], ['2.0.1', '2.0.1a', -1],
  ['5.5p1', '5.5p1', 0], ['5.5p1', '5.5p2', -1], ['5.5p2', '5.5p1', 1],
  ['5.5p10', '5.5p10', 0], ['5.5p1', '5.5p10', -1], ['5.5p10', '5.5p1', 1],
  ['10xyz', '10.1xyz', -1], ['10.1xyz', '10xyz', 1],
  ['xyz10', 'xyz10', 0], ['xyz10', 'xyz10.1', -1], ['xyz10.1', 'xyz10', 1],
  ['xyz.4', 'xyz.4', 0], ['xyz.4', '8', -1], ['8', 'xyz.4', 1], ['xyz.4', '2', -1], ['2', 'xyz.4', 1],
  ['5.5p2', '5.6p1', -1], ['5.6p1', '5.5p2', 1], ['5.6p1', '6.5p1', -1], ['6.5p1', '5.6p1', 1],
  ['6.0.rc1', '6.0', 1], ['6.0', '6.0.rc1', -1],
  ['10b2', '10a1', 1], ['10a2', '10b2', -1],
  ['1.0aa', '1.0aa', 0], ['1.0a', '1.0aa', -1], ['1.0aa', '1.0a', 1],
  ['10.0001', '10.0001', 0], ['10.0001', '10.1', 0], ['10.1', '10.0001', 0], ['10.0001', '10.0039', -1], ['10.0039', '10.0001', 1],
  ['4.999.9', '5.0', -1], ['5.0', '4.999.9', 1],
  ['20101121', '20101121', 0], ['20101121', '20101122', -1], ['20101122', '20101121', 1],
  ['2_0', '2_0', 0], ['2.0', '2_0', 0], ['2_0', '2.0', 0],
  ['a', 'a', 0], ['a+', 'a+', 0], ['a+', 'a_', 0], ['a_', 'a+', 0], ['+a', '+a', 0], ['+a', '_a', 0], ['_a', '+a', 0],
  ['+_', '+_', 0], ['_+', '+_', 0], ['_+', '_+', 0], ['+', '_', 0], ['_', '+', 0],
  ['1.0~rc1', '1.0~rc1', 0], ['1.0~rc1', '1.0', -1], ['1.0', '1.0~rc1', 1], ['1.0~rc1', '1.0~rc2', -1], ['1.0~rc2', '1.0~rc1', 1],
  ['1.0~rc1~git123', '1.0~rc1~git123', 0], ['1.0~rc1~git123', '1.0~rc1', -1], ['1.0~rc1', '1.0~rc1~git123', 1],
  ['1.0^', '1.0^', 0], ['1.0^', '1.0', 1], ['1.0', '1.0^', -1],
  ['1.0^git1', '1.0^git1', 0], ['1.0^git1', '1.0', 1], ['1.0', '1.0^git1', -1], ['1.0^git1', '1.0^git2', -1], ['1.0^git2', '1.0^git1', 1],
  ['1.0^git1', '1.01', -1], ['1.01', '1.0^git1', 1],
  ['1.0^20160101', '1.0^20160101', 0], ['1.0^20160101', '1.0.1', -1], ['1.0.1', '1.0^20160101', 1],
  ['1.0^20160101^git1', '1.0^20160101^git1', 0], ['1.0^20160102', '1.0^20160101^git1', 1], ['1.0^20160101^git1', '1.0^20160102', -1],
  ['1.0~rc1^git1', '1.0~rc1^git1', 0], ['1.0~rc1^git1', '1.0~rc1', 1], ['1.0~rc1', '1.0~rc1^git1', -1],
  ['1.0^git1~pre', '1.0^git1~pre', 0], ['1.0^git1', '1.0^git1~pre', 1], ['1.0^git1~pre', '1.0^git1', -1],
];

describe('rpmvercmp', () => {
  test.each(RPMVERCMP)('%s vs %s → %d', (a, b, want) => {
    expect(rpmvercmp(a, b)).toBe(want);
  });
});

const EVR: Array<[string, string, number]> = [
  ['1:1.0-1', '2.0-1', 1], // an epoch outweighs any version
  ['0:1.0-1', '1.0-1', 0], // a missing epoch is 0
  ['3.0.7-16.el9', '3.0.7-18.el9', -1],
  ['3.0.7-16.el9_2', '3.0.7-16.el9', 1],
  ['2.34-60.el9', '2.34-60.el9_2.7', -1],
  ['1:3.0.7-16.el9', '1:3.0.7-16.el9_2', -1],
  ['5.1.8-6.el9_1', '5.1.8-6.el9', 1],
];

describe('epoch:version-release', () => {
  test.each<[string, string, number]>([
    ...EVR,
    // No release on one side: releases are not compared, as rpm's dependency matching does
    // (`Requires: foo = 1.0` is met by 1.0-5). rpm's Lua `rpm.vercmp` answers -1 here; an
    // installed package always has a release, so only an advisory without one meets this.
    ['1.0', '1.0-5', 0],
  ])('%s vs %s → %d', (a, b, want) => {
    expect(Math.sign(compareRpm(a, b))).toBe(want);
  });
});

describe('against the real rpm (Debian\'s rpm package, `rpm.vercmp` in its Lua)', () => {
  test('every case above gives the order the rpm tool gives', () => {
    const pairs = [...RPMVERCMP, ...EVR];
    const lua = pairs.map(([a, b]) => `%{lua: print(rpm.vercmp(${JSON.stringify(a)}, ${JSON.stringify(b)}) .. "\\n")}`).join('');
    const real = execFileSync('rpm', ['--eval', lua], { encoding: 'utf8' }).split('\n').filter((l) => l.trim() !== '').map(Number);
    expect(real).toHaveLength(pairs.length);
    expect(pairs.map(([a, b]) => Math.sign(compareRpm(a, b)))).toEqual(real);
    // The table's own expectations are rpm's too (a typo in the table would show here).
    expect(pairs.map(([, , want]) => want)).toEqual(real);
  });
});
