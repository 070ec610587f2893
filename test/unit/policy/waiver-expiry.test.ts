/** Waiver expiries (issue 8.6, 11.5): ISO 8601 dates that exist, ending when people expect, bounded ahead. */
import { isAppError } from '../../../src/lib/errors';
import { checkWaiverExpiry, parseIsoInstant, policyConfigSchema, waiverRequestSchema } from '../../../src/policy/config';

const body = (expires: string) => waiverRequestSchema.safeParse({ findingId: 'CVE-1', reason: 'r', expires });

describe('waiver request expiry', () => {
  test.each([
    ['2027-02-30', 'a day February does not have (Date.UTC rolls it into March)'],
    ['2027-13-01', 'month 13'],
    ['2027-04-31', 'April 31'],
    ['+275760-09-13', 'year 275760'],
    ['275760-09-13T00:00:00Z', 'six-digit year'],
    ['Dec 31 2099', 'a free-form date Date.parse takes'],
    ['tomorrow', 'a word'],
    ['2027-01-01T25:00:00Z', 'hour 25'],
    ['2027-01-01T12:00:00', 'a time without a zone'],
    ['2027-1-1', 'unpadded'],
    [' 2027-01-01', 'whitespace'],
    ['', 'empty'],
  ])('refuses %j (%s)', (value) => {
    const r = body(value);
    expect(r.success).toBe(false);
    expect(r.error?.issues[0]?.path).toEqual(['expires']);
    expect(r.error?.issues[0]?.message).toMatch(/ISO 8601/);
  });

  test('a date alone lasts to the end of that day, UTC; a date-time with a zone is taken as written', () => {
    expect(body('2027-02-28').data?.expires).toBe('2027-02-28T23:59:59.999Z');
    expect(body('2028-02-29').data?.expires).toBe('2028-02-29T23:59:59.999Z');
    expect(body('2027-02-28T18:00:00+01:00').data?.expires).toBe('2027-02-28T17:00:00.000Z');
    expect(body('2027-02-28T18:00Z').data?.expires).toBe('2027-02-28T18:00:00.000Z');
  });

  test('the allowlist takes the same strict dates (a date alone: 00:00 UTC, as documented)', () => {
    expect(policyConfigSchema.safeParse({ allowlist: [{ id: 'X', reason: 'r', expires: '2027-02-30' }] }).success).toBe(false);
    expect(policyConfigSchema.safeParse({ allowlist: [{ id: 'X', reason: 'r', expires: 'Dec 31 2099' }] }).success).toBe(false);
    expect(parseIsoInstant('2027-02-28')?.toISOString()).toBe('2027-02-28T00:00:00.000Z');
  });

  test('policy.waivers.maxDays defaults to 365', () => {
    expect(policyConfigSchema.parse({}).waivers.maxDays).toBe(365);
  });

  test('an expiry must be in the future and at most maxDays ahead', () => {
    const now = new Date('2026-12-01T12:00:00Z');
    const code = (expires: string, maxDays = 365) => {
      try { checkWaiverExpiry(expires, now, maxDays); return 'ok'; } catch (err) { return isAppError(err) ? `${err.code} ${err.message}` : 'other'; }
    };
    expect(code('2026-12-01T11:59:59.000Z')).toMatch(/^INVALID_REQUEST .*future/);
    expect(code('2027-12-01T12:00:00.000Z')).toBe('ok');
    expect(code('2027-12-01T12:00:00.001Z')).toMatch(/^INVALID_REQUEST .*at most 365 days \(policy.waivers.maxDays\)/);
    expect(code('2026-12-31T23:59:59.999Z', 30)).toMatch(/at most 30 days/);
    expect(code('2026-12-31T00:00:00.000Z', 30)).toBe('ok');
  });
});
