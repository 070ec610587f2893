/**
 * `POST /hooks/clair`: Clair's notifier webhook (issue 13.2), outside /v1 (Clair is not a
 * principal of ours). The credential is checked before the body is read; the body is small
 * JSON only (Clair's is about 150 bytes); then the hook service checks the callback and queues
 * the work, so the answer comes at once (Clair delivers again on anything but 200).
 */
import express, { Router, type NextFunction, type Request, type Response } from 'express';
import { AppError } from '../../lib/errors';
import { parseInput } from '../middleware/validate';
import { clairHookBody } from './hooks.contract';

/** Bytes of a hook body at most. */
export const HOOK_BODY_LIMIT = '8kb';

export interface ClairHookApi {
  authenticate(authorization: string | undefined): string[];
  accept(scanners: readonly string[], body: { notification_id: string; callback: string }): Promise<{ status: 'queued' | 'already_applied' }>;
}

export function hooksRouter(deps: { clairHook?: ClairHookApi }): Router {
  const router = Router();
  const json = express.json({ limit: HOOK_BODY_LIMIT, strict: true, type: 'application/json' });

  router.post('/hooks/clair', (req: Request, res: Response, next: NextFunction) => {
    if (!deps.clairHook) return next(new AppError('NOT_FOUND', 'the Clair hook is not served by this process'));
    try {
      res.locals.clairScanners = deps.clairHook.authenticate(req.get('authorization'));
    } catch (err) {
      return next(err);
    }
    if (!req.is('application/json')) return next(new AppError('UNSUPPORTED_MEDIA_TYPE', 'the Clair hook takes application/json'));
    json(req, res, next);
  }, async (req: Request, res: Response) => {
    const body = parseInput(clairHookBody, req.body, 'body');
    const out = await deps.clairHook!.accept(res.locals.clairScanners as string[], { notification_id: body.notification_id, callback: body.callback });
    res.status(200).json({ status: out.status });
  });

  return router;
}
