import { matchAffected } from '../../../../src/scanners/osv/match';
import type { OsvAffected, OsvRange } from '../../../../src/scanners/osv/schema';
import { dpkgScheme, pep440Scheme, semverScheme } from '../../../../src/scanners/versions';

const pkg = { ecosystem: 'npm', name: 'x' };
const semver = (...events: OsvRange['events']): OsvAffected => ({ package: pkg, ranges: [{ type: 'SEMVER', events }] });

describe('OSV range evaluation (schema.md "Evaluation")', () => {
  test.each<[string, OsvAffected, string | undefined | null]>([
    // [installed, affected, expected fixedVersion (undefined = affected without a fix, null = not affected)]
    ['1.0.1', semver({ introduced: '0' }, { fixed: '1.0.2' }), '1.0.2'],
    ['1.0.2', semver({ introduced: '0' }, { fixed: '1.0.2' }), null],
    ['0.0.1', semver({ introduced: '0' }), undefined],
    // two ranges in one event list: [1.0.0, 1.0.2) and [3.0.0, 3.2.5)
    ['2.0.0', semver({ introduced: '1.0.0' }, { fixed: '1.0.2' }, { introduced: '3.0.0' }, { fixed: '3.2.5' }), null],
    ['3.1.0', semver({ introduced: '1.0.0' }, { fixed: '1.0.2' }, { introduced: '3.0.0' }, { fixed: '3.2.5' }), '3.2.5'],
    ['0.9.0', semver({ introduced: '1.0.0' }, { fixed: '1.0.2' }), null],
    // events out of order are sorted first
    ['3.1.0', semver({ fixed: '3.2.5' }, { introduced: '3.0.0' }), '3.2.5'],
    // last_affected is inclusive, and names no fix
    ['2.1.214', semver({ introduced: '0' }, { last_affected: '2.1.214' }), undefined],
    ['2.1.215', semver({ introduced: '0' }, { last_affected: '2.1.214' }), null],
    // limit bounds the range from above (exclusive)
    ['1.5.0', semver({ introduced: '1.0.0' }, { limit: '2.0.0' }), undefined],
    ['2.0.0', semver({ introduced: '1.0.0' }, { limit: '2.0.0' }), null],
    ['9.0.0', semver({ introduced: '1.0.0' }, { limit: '*' }), undefined],
    // pre-releases sort before their release
    ['1.0.2-rc.1', semver({ introduced: '0' }, { fixed: '1.0.2' }), '1.0.2'],
  ])('%s in %j', (version, affected, expected) => {
    const m = matchAffected(version, affected, semverScheme);
    if (expected === null) expect(m).toBeNull();
    else expect(m).toEqual(expected === undefined ? {} : { fixedVersion: expected });
  });

  test('ECOSYSTEM ranges use the ecosystem ordering (dpkg ~ and epochs)', () => {
    const a: OsvAffected = {
      package: { ecosystem: 'Debian:12', name: 'openssl' },
      ranges: [{ type: 'ECOSYSTEM', events: [{ introduced: '0' }, { fixed: '3.0.11-1~deb12u2' }] }],
    };
    expect(matchAffected('3.0.11-1~deb12u1', a, dpkgScheme)).toEqual({ fixedVersion: '3.0.11-1~deb12u2' });
    expect(matchAffected('3.0.11-1', a, dpkgScheme)).toBeNull(); // ~deb12u2 < 3.0.11-1
    expect(matchAffected('1:0.1', a, dpkgScheme)).toBeNull(); // the epoch puts it above
  });

  test('the versions list matches exactly or by equal order (PEP 440 normalization)', () => {
    const a: OsvAffected = { package: { ecosystem: 'PyPI', name: 'x' }, versions: ['1.0.post1'] };
    expect(matchAffected('1.0.post1', a, pep440Scheme)).toEqual({});
    expect(matchAffected('1.0-1', a, pep440Scheme)).toEqual({});
    expect(matchAffected('1.0', a, pep440Scheme)).toBeNull();
  });

  test('GIT ranges and unparseable versions are skipped, not guessed', () => {
    const git: OsvAffected = { package: pkg, ranges: [{ type: 'GIT', repo: 'r', events: [{ introduced: '0' }] }] };
    expect(matchAffected('1.0.0', git, semverScheme)).toBeNull();
    expect(matchAffected('not-a-version', semver({ introduced: '0' }), semverScheme)).toBeNull();
    expect(matchAffected('1.0.0', semver({ introduced: '0' }, { fixed: 'garbage' }), semverScheme)).toBeNull();
  });
});
