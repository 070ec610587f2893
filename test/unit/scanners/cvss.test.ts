import { parseCvss, severityFromScore, severityOfCvss } from '../../../src/scanners/cvss';
import { severityFromLabel } from '../../../src/scanners/severity-labels';

describe('CVSS v3 base score', () => {
  // Vectors and scores as NVD publishes them (computed with FIRST's v3.1 calculator).
  test.each([
    ['CVSS:3.1/AV:N/AC:L/PR:N/UI:N/S:U/C:H/I:H/A:H', 9.8],
    ['CVSS:3.1/AV:N/AC:L/PR:N/UI:N/S:C/C:H/I:H/A:H', 10.0],
    ['CVSS:3.1/AV:N/AC:L/PR:L/UI:N/S:C/C:H/I:H/A:H', 9.9],
    ['CVSS:3.1/AV:N/AC:L/PR:N/UI:N/S:U/C:H/I:H/A:N', 9.1],
    ['CVSS:3.1/AV:N/AC:L/PR:N/UI:R/S:U/C:H/I:H/A:H', 8.8],
    ['CVSS:3.1/AV:L/AC:L/PR:L/UI:N/S:U/C:H/I:H/A:H', 7.8],
    ['CVSS:3.1/AV:N/AC:L/PR:N/UI:N/S:U/C:N/I:N/A:H', 7.5],
    ['CVSS:3.1/AV:N/AC:L/PR:H/UI:N/S:U/C:H/I:H/A:H', 7.2],
    ['CVSS:3.1/AV:L/AC:L/PR:H/UI:N/S:U/C:H/I:H/A:H', 6.7],
    ['CVSS:3.1/AV:N/AC:L/PR:L/UI:N/S:U/C:H/I:N/A:N', 6.5],
    ['CVSS:3.1/AV:N/AC:L/PR:N/UI:R/S:C/C:L/I:L/A:N', 6.1],
    ['CVSS:3.1/AV:N/AC:H/PR:N/UI:N/S:U/C:H/I:N/A:N', 5.9],
    ['CVSS:3.1/AV:L/AC:L/PR:L/UI:N/S:U/C:N/I:N/A:H', 5.5],
    ['CVSS:3.1/AV:N/AC:L/PR:L/UI:R/S:C/C:L/I:L/A:N', 5.4],
    ['CVSS:3.1/AV:N/AC:L/PR:N/UI:N/S:U/C:L/I:N/A:N', 5.3],
    ['CVSS:3.1/AV:L/AC:H/PR:L/UI:N/S:U/C:H/I:N/A:N', 4.7],
    ['CVSS:3.0/AV:N/AC:L/PR:L/UI:N/S:U/C:L/I:N/A:N', 4.3],
    ['CVSS:3.1/AV:P/AC:H/PR:H/UI:R/S:U/C:L/I:N/A:N', 1.6],
    ['CVSS:3.1/AV:N/AC:L/PR:N/UI:N/S:U/C:N/I:N/A:N', 0],
    // Temporal metrics may follow; they do not change the base score.
    ['CVSS:3.1/AV:N/AC:L/PR:N/UI:N/S:U/C:H/I:H/A:H/E:U/RL:O/RC:C', 9.8],
    // Metric order is free.
    ['CVSS:3.1/S:U/AV:N/AC:L/PR:N/UI:N/C:H/I:H/A:H', 9.8],
  ])('%s → %d', (vector, score) => {
    expect(parseCvss(vector)?.score).toBe(score);
  });

  test.each([
    'AV:N/AC:L/PR:N/UI:N/S:U/C:H/I:H/A:H', // no prefix
    'CVSS:3.1/AV:N/AC:L/PR:N/UI:N/S:U/C:H/I:H', // A missing
    'CVSS:3.1/AV:X/AC:L/PR:N/UI:N/S:U/C:H/I:H/A:H', // bad value
    'CVSS:3.1/AV:N/AV:N/AC:L/PR:N/UI:N/S:U/C:H/I:H/A:H', // duplicate
    'AV:N/AC:L/Au:N/C:P/I:P', // v2 with A missing
    'AV:N/AC:L/Au:N/C:P/I:P/A:P/S:U', // v2 with a v3 metric mixed in
    'CVSS:3.1/AV:N/AC:L/PR:N/UI:N/S:U/C:H/I:H/A:H/AV:L', // duplicate after the base
  ])('rejects %s', (vector) => {
    expect(parseCvss(vector)).toBeNull();
  });

});

describe('CVSS v4.0 base score', () => {
  // Scores as FIRST's v4.0 calculator gives them.
  test.each([
    ['CVSS:4.0/AV:N/AC:L/AT:N/PR:N/UI:N/VC:H/VI:H/VA:H/SC:N/SI:N/SA:N', 9.3, 'critical'],
    ['CVSS:4.0/AV:N/AC:L/AT:N/PR:H/UI:N/VC:L/VI:L/VA:N/SC:N/SI:N/SA:N', 5.1, 'medium'],
    ['CVSS:4.0/AV:L/AC:L/AT:N/PR:L/UI:N/VC:H/VI:H/VA:H/SC:N/SI:N/SA:N', 8.5, 'high'],
    ['CVSS:4.0/AV:N/AC:L/AT:N/PR:N/UI:N/VC:H/VI:H/VA:H/SC:N/SI:N/SA:N/E:U', 9.3, 'critical'],
    ['CVSS:4.0/AV:N/AC:L/AT:N/PR:N/UI:N/VC:N/VI:N/VA:N/SC:N/SI:N/SA:N', 0, 'low'],
  ])('%s → %d (%s)', (vector, score, band) => {
    const c = parseCvss(vector);
    expect(c).toEqual({ version: '4.0', vector, score });
    expect(severityOfCvss(c!)).toBe(band);
  });

  test('a truncated v4.0 vector is refused, not scored as if the rest were "none"', () => {
    expect(parseCvss('CVSS:4.0/AV:N/AC:L/AT:N/PR:H/UI:N/VC:L')).toBeNull();
    expect(parseCvss('CVSS:4.0/AV:N/AC:L/AT:N/PR:N/UI:N/VC:H/VI:H/VA:H/SC:N/SI:N/SA:X')).toBeNull();
  });
});

describe('CVSS v2 base score', () => {
  test.each([
    ['AV:N/AC:L/Au:N/C:P/I:P/A:P', 7.5, 'high'],
    ['AV:N/AC:L/Au:N/C:C/I:C/A:C', 10, 'high'], // v2 has no critical band
    ['(AV:N/AC:M/Au:N/C:P/I:N/A:N)', 4.3, 'medium'],
    ['CVSS:2.0/AV:L/AC:L/Au:N/C:P/I:N/A:N', 2.1, 'low'],
    ['AV:N/AC:L/Au:N/C:P/I:P/A:P/E:U/RL:OF/RC:C', 7.5, 'high'],
  ])('%s → %d (%s)', (vector, score, band) => {
    const c = parseCvss(vector);
    expect(c?.version).toBe('2.0');
    expect(c?.score).toBe(score);
    expect(severityOfCvss(c!)).toBe(band);
  });
});

describe('severity bands', () => {
  test.each([
    [10, 'critical'],
    [9.0, 'critical'],
    [8.9, 'high'],
    [7.0, 'high'],
    [6.9, 'medium'],
    [4.0, 'medium'],
    [3.9, 'low'],
    [0, 'low'],
  ])('%d → %s', (score, band) => {
    expect(severityFromScore(score)).toBe(band);
  });

  test.each([
    ['CRITICAL', 'critical'],
    ['MODERATE', 'medium'],
    ['negligible', 'low'],
    ['untriaged', 'unknown'],
    [undefined, 'unknown'],
  ])('label %s → %s', (label, band) => {
    expect(severityFromLabel(label)).toBe(band);
  });
});
