import { endOfDay, validTimeZone } from '../../../src/ui/tz';

describe('endOfDay', () => {
  it('ends the day in the given time zone', () => {
    expect(endOfDay('2026-12-31', 'UTC')).toBe('2026-12-31T23:59:59.000Z');
    expect(endOfDay('2026-12-31', 'Asia/Singapore')).toBe('2026-12-31T15:59:59.000Z');
    expect(endOfDay('2026-12-31', 'America/New_York')).toBe('2027-01-01T04:59:59.000Z');
    expect(endOfDay('2026-07-15', 'Europe/Berlin')).toBe('2026-07-15T21:59:59.000Z');
  });

  it('handles the days daylight saving time starts and ends', () => {
    // Europe/Berlin: 2026-03-29 clocks go forward, 2026-10-25 back; the day ends at local midnight either way.
    expect(endOfDay('2026-03-29', 'Europe/Berlin')).toBe('2026-03-29T21:59:59.000Z');
    expect(endOfDay('2026-10-25', 'Europe/Berlin')).toBe('2026-10-25T22:59:59.000Z');
  });

  it('refuses what is not a date or a time zone', () => {
    expect(() => endOfDay('2026-02-30', 'UTC')).toThrow(/not a date/);
    expect(() => endOfDay('31/12/2026', 'UTC')).toThrow(/YYYY-MM-DD/);
    expect(() => endOfDay('2026-12-31', 'Mars/Olympus')).toThrow(/time zone/);
    expect(validTimeZone('Europe/Paris')).toBe(true);
    expect(validTimeZone('<script>')).toBe(false);
  });
});
