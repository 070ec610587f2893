/**
 * `GET /healthz`: the process is up. `GET /readyz`: every dependency answers (Redis, the
 * internal registry); otherwise 503 naming the failing dependency, so that a load balancer
 * takes the instance out of rotation.
 */
import { Router } from 'express';
import type { ReadinessCheck } from '../../lib/readiness';

export type { ReadinessCheck } from '../../lib/readiness';

const CHECK_TIMEOUT_MS = 3000;

async function withTimeout(p: Promise<void>, ms: number): Promise<void> {
  let timer: NodeJS.Timeout | undefined;
  const timeout = new Promise<never>((_, reject) => { timer = setTimeout(() => reject(new Error(`no answer within ${ms} ms`)), ms); });
  try {
    await Promise.race([p, timeout]);
  } finally {
    clearTimeout(timer);
  }
}

export function healthRouter(checks: ReadinessCheck[]): Router {
  const router = Router();
  router.get('/healthz', (_req, res) => { res.json({ status: 'ok' }); });
  router.get('/readyz', async (req, res) => {
    const results = await Promise.all(checks.map(async (c) => {
      try {
        await withTimeout(c.check(), CHECK_TIMEOUT_MS);
        return { name: c.name, ok: true as const };
      } catch (err) {
        req.log.warn({ 'error.message': (err as Error).message, dependency: c.name }, 'dependency not ready');
        return { name: c.name, ok: false as const };
      }
    }));
    const failing = results.filter((r) => !r.ok).map((r) => r.name);
    const dependencies = Object.fromEntries(results.map((r) => [r.name, r.ok ? 'ok' : 'unavailable']));
    if (failing.length === 0) res.json({ status: 'ready', dependencies });
    else res.status(503).json({ status: 'not ready', failing, dependencies, error: { code: 'DEPENDENCY_UNAVAILABLE', message: `not ready: ${failing.join(', ')}` } });
  });
  return router;
}
