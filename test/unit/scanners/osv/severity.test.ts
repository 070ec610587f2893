import { advisorySeverity } from '../../../../src/scanners/osv/severity';

const V4_MEDIUM = 'CVSS:4.0/AV:N/AC:L/AT:N/PR:H/UI:N/VC:L/VI:L/VA:N/SC:N/SI:N/SA:N'; // 5.1
const V3_CRITICAL = 'CVSS:3.1/AV:N/AC:L/PR:N/UI:N/S:U/C:H/I:H/A:H'; // 9.8
const V2_HIGH = 'AV:N/AC:L/Au:N/C:C/I:C/A:C'; // 10.0, high in v2's bands

describe('advisorySeverity', () => {
  test('a v4-only advisory is scored from its vector, not from a disagreeing label', () => {
    expect(advisorySeverity([{ type: 'CVSS_V4', score: V4_MEDIUM }], { severity: 'CRITICAL' })).toEqual({
      severity: 'medium',
      cvss: { version: '4.0', vector: V4_MEDIUM, score: 5.1 },
    });
  });

  test('the most severe band among the vectors wins, each in its own version\'s bands', () => {
    expect(advisorySeverity([{ type: 'CVSS_V2', score: V2_HIGH }, { type: 'CVSS_V3', score: V3_CRITICAL }]).severity).toBe('critical');
    expect(advisorySeverity([{ type: 'CVSS_V2', score: V2_HIGH }, { type: 'CVSS_V4', score: V4_MEDIUM }])).toMatchObject({ severity: 'high', cvss: { version: '2.0', score: 10 } });
  });

  test('an invalid vector falls back to the label, then to unknown', () => {
    expect(advisorySeverity([{ type: 'CVSS_V4', score: 'CVSS:4.0/AV:N' }], { severity: 'MODERATE' })).toEqual({ severity: 'medium' });
    expect(advisorySeverity([{ type: 'CVSS_V4', score: 'CVSS:4.0/AV:N' }])).toEqual({ severity: 'unknown' });
    expect(advisorySeverity([{ type: 'Ubuntu', score: 'negligible' }])).toEqual({ severity: 'low' });
  });
});
