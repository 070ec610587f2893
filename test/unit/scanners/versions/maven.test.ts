import { compareMaven } from '../../../../src/scanners/versions/maven';

// Orders and equalities from Maven's ComparableVersionTest.
describe('Maven version order', () => {
  const ascending = [
    '1-alpha', '1-alpha2', '1-beta', '1-milestone', '1-rc', '1-snapshot', '1', '1-sp', '1-abc', '1-1', '1.1', '1.2', '1.10',
    '2.0-alpha-1', '2.0-beta', '2.0', '2.0.1', '2.9', '2.10', '2.14.0', '2.14.1', '2.17.1', '10',
  ];
  test.each(ascending.slice(1).map((v, i) => [ascending[i]!, v]))('%s < %s', (a, b) => {
    expect(compareMaven(a, b)).toBeLessThan(0);
    expect(compareMaven(b, a)).toBeGreaterThan(0);
  });

  test.each([
    ['1', '1.0'], ['1', '1.0.0'], ['1', '1-final'], ['1', '1-ga'], ['1.0.0.RELEASE', '1'], ['1a', '1-alpha'], ['1b1', '1-beta-1'], ['1cr', '1rc'], ['1.0-ALPHA', '1.0-alpha'],
  ])('%s = %s', (a, b) => {
    expect(compareMaven(a, b)).toBe(0);
  });
});
