/**
 * "Waive until 2026-12-31" means until the end of that day where the approver is, not in UTC:
 * a waiver granted in Singapore must not lapse at 08:00 local time. The browser sends its IANA
 * time zone (app.js fills a hidden field; without JavaScript it stays UTC, and the form says so).
 */
import { AppError } from '../lib/errors';

/** Offset of `tz` from UTC at instant `ms`, in ms (positive east of Greenwich). */
function offsetAt(ms: number, tz: string): number {
  const parts = new Intl.DateTimeFormat('en-US', {
    timeZone: tz, hourCycle: 'h23', year: 'numeric', month: '2-digit', day: '2-digit', hour: '2-digit', minute: '2-digit', second: '2-digit',
  }).formatToParts(new Date(ms));
  const get = (t: string): number => Number(parts.find((p) => p.type === t)?.value);
  const asUtc = Date.UTC(get('year'), get('month') - 1, get('day'), get('hour'), get('minute'), get('second'));
  return asUtc - Math.floor(ms / 1000) * 1000;
}

export function validTimeZone(tz: string): boolean {
  if (!/^[A-Za-z0-9_+\-/]{1,64}$/.test(tz)) return false;
  try {
    new Intl.DateTimeFormat('en-US', { timeZone: tz });
    return true;
  } catch {
    return false;
  }
}

/** The last second of `day` (YYYY-MM-DD) in time zone `tz`, as an ISO instant. */
export function endOfDay(day: string, tz: string): string {
  const m = /^(\d{4})-(\d{2})-(\d{2})$/.exec(day);
  if (!m) throw new AppError('INVALID_REQUEST', 'the expiry must be a date (YYYY-MM-DD)', { details: { field: 'until' } });
  if (!validTimeZone(tz)) throw new AppError('INVALID_REQUEST', `unknown time zone ${tz}`, { details: { field: 'tz' } });
  const [y, mo, d] = [Number(m[1]), Number(m[2]), Number(m[3])];
  const check = new Date(Date.UTC(y, mo - 1, d));
  if (check.getUTCFullYear() !== y || check.getUTCMonth() !== mo - 1 || check.getUTCDate() !== d) {
    throw new AppError('INVALID_REQUEST', `${day} is not a date`, { details: { field: 'until' } });
  }
  // Local midnight starting the next day, as UTC: guess with the offset there, then correct once
  // (the offset may differ across a DST change between the guess and the answer).
  const nextMidnightLocal = Date.UTC(y, mo - 1, d + 1);
  let utc = nextMidnightLocal - offsetAt(nextMidnightLocal, tz);
  utc = nextMidnightLocal - offsetAt(utc, tz);
  return new Date(utc - 1000).toISOString();
}
