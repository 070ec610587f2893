/**
 * RPM's version order: `rpmvercmp` (rpm's rpmio/rpmvercmp.c) on version then release, after
 * the numeric epoch (`[epoch:]version[-release]`, a missing epoch is 0). Segments of digits
 * compare as numbers (leading zeros ignored), of letters as strings; a digit segment is
 * newer than a letter one; separators only separate; `~` sorts before anything (pre-releases),
 * `^` after the base but before any further segment (post-release snapshots).
 */
import type { VersionScheme } from './types';

const isDigit = (c: string | undefined): boolean => c !== undefined && c >= '0' && c <= '9';
const isAlpha = (c: string | undefined): boolean => c !== undefined && ((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z'));
const isAlnum = (c: string | undefined): boolean => isDigit(c) || isAlpha(c);

export function rpmvercmp(a: string, b: string): number {
  if (a === b) return 0;
  let i = 0;
  let j = 0;
  while (i < a.length || j < b.length) {
    while (i < a.length && !isAlnum(a[i]) && a[i] !== '~' && a[i] !== '^') i += 1;
    while (j < b.length && !isAlnum(b[j]) && b[j] !== '~' && b[j] !== '^') j += 1;
    if (a[i] === '~' || b[j] === '~') {
      if (a[i] !== '~') return 1;
      if (b[j] !== '~') return -1;
      i += 1;
      j += 1;
      continue;
    }
    if (a[i] === '^' || b[j] === '^') {
      if (i >= a.length) return -1;
      if (j >= b.length) return 1;
      if (a[i] !== '^') return 1;
      if (b[j] !== '^') return -1;
      i += 1;
      j += 1;
      continue;
    }
    if (!(i < a.length && j < b.length)) break;
    const numeric = isDigit(a[i]);
    const take = numeric ? isDigit : isAlpha;
    let ei = i;
    let ej = j;
    while (ei < a.length && take(a[ei])) ei += 1;
    while (ej < b.length && take(b[ej])) ej += 1;
    // b's segment is of the other type: a number is newer than letters.
    if (ej === j) return numeric ? 1 : -1;
    let sa = a.slice(i, ei);
    let sb = b.slice(j, ej);
    if (numeric) {
      sa = sa.replace(/^0+/, '');
      sb = sb.replace(/^0+/, '');
      if (sa.length !== sb.length) return sa.length > sb.length ? 1 : -1;
    }
    if (sa !== sb) return sa < sb ? -1 : 1;
    i = ei;
    j = ej;
  }
  if (i >= a.length && j >= b.length) return 0;
  return i >= a.length ? -1 : 1;
}

interface Evr {
  epoch: number;
  version: string;
  release?: string;
}

const EVR = /^(?:(\d+):)?([^:-]+)(?:-([^:-]+))?$/;

function parseEvr(v: string): Evr | null {
  const m = EVR.exec(v.trim());
  if (!m) return null;
  return { epoch: m[1] ? Number(m[1]) : 0, version: m[2]!, ...(m[3] !== undefined ? { release: m[3] } : {}) };
}

/** Compares `[epoch:]version[-release]`; a release missing on either side is not compared (rpm's rule). */
export function compareRpm(a: string, b: string): number {
  const x = parseEvr(a);
  const y = parseEvr(b);
  if (!x || !y) throw new Error(`invalid rpm version: ${!x ? a : b}`);
  if (x.epoch !== y.epoch) return x.epoch < y.epoch ? -1 : 1;
  const v = rpmvercmp(x.version, y.version);
  if (v !== 0 || x.release === undefined || y.release === undefined) return v;
  return rpmvercmp(x.release, y.release);
}

export const rpmScheme: VersionScheme = {
  name: 'rpm',
  isValid: (v) => parseEvr(v) !== null,
  compare: compareRpm,
};
