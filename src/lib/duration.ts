/**
 * Duration strings of the configuration (`500ms`, `30s`, `5m`, `1h`) parsed to milliseconds, shared by
 * the modules' config sections.
 */
import { z } from 'zod';

const UNIT_MS = { ms: 1, s: 1000, m: 60_000, h: 3_600_000 } as const;

/** A duration string → milliseconds, at least `min`. */
export function durationMs(min: number) {
  return z.string()
    .regex(/^\d+(ms|s|m|h)$/, 'must be a duration such as 500ms, 30s, 5m or 1h')
    .transform((v) => {
      const [, n, unit] = /^(\d+)(ms|s|m|h)$/.exec(v) as RegExpExecArray;
      return Number(n) * UNIT_MS[unit as keyof typeof UNIT_MS];
    })
    .refine((ms) => ms >= min, `must be at least ${min} ms`);
}

