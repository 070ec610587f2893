/** Platform selectors `os/arch[/variant]`, as `docker pull --platform` takes them. */
import { AppError } from '../lib/errors';
import type { Platform } from './types';

export function parsePlatform(spec: string): Platform {
  const parts = spec.trim().split('/');
  if (parts.length < 2 || parts.length > 3 || parts.some((p) => !/^[a-z0-9._-]+$/i.test(p))) {
    throw new AppError('INVALID_REQUEST', `invalid platform "${spec}": expected os/arch[/variant], e.g. linux/arm64 or linux/arm/v7`);
  }
  const [os, architecture, variant] = parts;
  return { os, architecture, ...(variant ? { variant } : {}) };
}

export function formatPlatform(p: Platform | undefined): string {
  return p ? [p.os, p.architecture, p.variant].filter(Boolean).join('/') : 'unknown';
}

/** A selector without a variant matches every variant (linux/arm64 matches linux/arm64/v8). */
export function platformMatches(want: Platform, have: Platform | undefined): boolean {
  if (!have) return false;
  return want.os === have.os && want.architecture === have.architecture && (!want.variant || want.variant === have.variant);
}
