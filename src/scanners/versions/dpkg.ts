/**
 * Debian version ordering, exactly as Debian Policy §5.6.12 and dpkg's `verrevcmp`
 * (lib/dpkg/version.c) define it: `[epoch:]upstream[-revision]`, compared epoch first
 * (numerically), then upstream, then revision, each with the alternating
 * non-digit/digit algorithm where `~` sorts before everything, even the end of the string.
 */
import type { VersionScheme } from './types';

interface DpkgVersion {
  epoch: number;
  upstream: string;
  revision: string;
}

// Policy: upstream starts with a digit (dpkg only warns, so we accept any allowed char);
// allowed characters are alphanumerics and . + - ~ (colon only with an epoch).
const VALID = /^(?:(\d+):)?([A-Za-z0-9.+~:-]+?)(?:-([A-Za-z0-9.+~]+))?$/;

export function parseDpkgVersion(version: string): DpkgVersion | null {
  const v = version.trim();
  const m = VALID.exec(v);
  if (!m) return null;
  const epochText = m[1];
  // The upstream part may contain hyphens; the revision is after the last one.
  const rest = epochText === undefined ? v : v.slice(epochText.length + 1);
  const dash = rest.lastIndexOf('-');
  const upstream = dash === -1 ? rest : rest.slice(0, dash);
  const revision = dash === -1 ? '' : rest.slice(dash + 1);
  if (upstream === '' || (upstream.includes(':') && epochText === undefined)) return null;
  return { epoch: epochText === undefined ? 0 : Number(epochText), upstream, revision };
}

const isDigit = (c: string): boolean => c >= '0' && c <= '9';
const isAlpha = (c: string): boolean => (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z');

/** dpkg's `order()`: `~` < end-of-string and digits < letters < everything else. */
function order(c: string | undefined): number {
  if (c === undefined || isDigit(c)) return 0;
  if (isAlpha(c)) return c.charCodeAt(0);
  if (c === '~') return -1;
  return c.charCodeAt(0) + 256;
}

/** dpkg's `verrevcmp`, ported index by index. */
export function verrevcmp(a: string, b: string): number {
  let i = 0;
  let j = 0;
  while (i < a.length || j < b.length) {
    let firstDiff = 0;
    while ((i < a.length && !isDigit(a[i]!)) || (j < b.length && !isDigit(b[j]!))) {
      const ac = order(a[i]);
      const bc = order(b[j]);
      if (ac !== bc) return ac - bc;
      i += 1;
      j += 1;
    }
    while (a[i] === '0') i += 1;
    while (b[j] === '0') j += 1;
    while (i < a.length && j < b.length && isDigit(a[i]!) && isDigit(b[j]!)) {
      if (firstDiff === 0) firstDiff = a.charCodeAt(i) - b.charCodeAt(j);
      i += 1;
      j += 1;
    }
    if (i < a.length && isDigit(a[i]!)) return 1;
    if (j < b.length && isDigit(b[j]!)) return -1;
    if (firstDiff !== 0) return firstDiff;
  }
  return 0;
}

export function compareDpkg(a: string, b: string): number {
  const va = parseDpkgVersion(a);
  const vb = parseDpkgVersion(b);
  if (!va || !vb) throw new Error(`invalid dpkg version: ${!va ? a : b}`);
  if (va.epoch !== vb.epoch) return va.epoch - vb.epoch;
  return verrevcmp(va.upstream, vb.upstream) || verrevcmp(va.revision, vb.revision);
}

export const dpkgScheme: VersionScheme = {
  name: 'dpkg',
  isValid: (v) => parseDpkgVersion(v) !== null,
  compare: compareDpkg,
};
