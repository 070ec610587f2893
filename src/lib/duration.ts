/**
 * Duration strings of the configuration (`500ms`, `30s`, `5m`, `1h`, and `7d` where a section
 * allows days) parsed to milliseconds, shared by the modules' config sections.
 */
import { z } from 'zod';

const UNIT_MS = { ms: 1, s: 1000, m: 60_000, h: 3_600_000, d: 86_400_000 } as const;
const WITHOUT_DAYS = /^(\d+)(ms|s|m|h)$/;
const WITH_DAYS = /^(\d+)(ms|s|m|h|d)$/;

/** A duration string → milliseconds, at least `min`; `days: true` also accepts `7d`. */
export function durationMs(min: number, options: { days?: boolean } = {}) {
  const pattern = options.days ? WITH_DAYS : WITHOUT_DAYS;
  return z.string()
    .regex(pattern, options.days ? 'must be a duration such as 30s, 15m, 6h or 7d' : 'must be a duration such as 500ms, 30s, 5m or 1h')
    .transform((v) => {
      const [, n, unit] = pattern.exec(v) as RegExpExecArray;
      return Number(n) * UNIT_MS[unit as keyof typeof UNIT_MS];
    })
    .refine((ms) => ms >= min, `must be at least ${min} ms`);
}
