import { parseCvss, roundup31, severityFromScore } from '../../../src/scanners/cvss';
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
    'CVSS:2.0/AV:N/AC:L/Au:N/C:P/I:P/A:P',
  ])('rejects %s', (vector) => {
    expect(parseCvss(vector)).toBeNull();
  });

  test('Roundup avoids floating-point artefacts (spec Appendix A)', () => {
    expect(roundup31(4.000000000000001)).toBe(4.0);
    expect(roundup31(4.02)).toBe(4.1);
    expect(roundup31(4.0)).toBe(4.0);
  });

  test('a v4.0 vector is recognised but left unscored', () => {
    const v4 = parseCvss('CVSS:4.0/AV:N/AC:L/AT:N/PR:H/UI:N/VC:L/VI:L/VA:N/SC:N/SI:N/SA:N');
    expect(v4).toEqual({ version: '4.0', vector: expect.any(String), score: null });
    expect(parseCvss('CVSS:4.0/AV:N/AC:L/AT:N/PR:H/UI:N/VC:L')).toBeNull();
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
