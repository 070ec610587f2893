/**
 * Gives every HTTP request an id (honouring a sane incoming X-Request-Id, else a new UUID),
 * returns it as X-Request-Id, and a pino child logger that carries it as ECS `trace.id`.
 * One ECS access line is logged when the response finishes.
 */
import { randomUUID } from 'node:crypto';
import type { NextFunction, Request, Response } from 'express';
import { signInEcs } from '../../lib/ecs';
import type { Logger } from '../../lib/logger';

declare module 'express-serve-static-core' {
  interface Request {
    id: string;
    log: Logger;
  }
}

const SAFE_ID = /^[A-Za-z0-9._-]{8,128}$/;

export function requestContext(logger: Logger) {
  return (req: Request, res: Response, next: NextFunction): void => {
    const incoming = req.get('x-request-id');
    req.id = incoming && SAFE_ID.test(incoming) ? incoming : randomUUID();
    req.log = logger.child({ 'trace.id': req.id });
    res.setHeader('X-Request-Id', req.id);
    const started = process.hrtime.bigint();
    res.on('finish', () => {
      // An expected 4xx (a bad reference, a missing token, another team's request) is the
      // service working as designed: not a warning. Only a 5xx is logged as an error.
      const level = res.statusCode >= 500 ? 'error' : 'info';
      // A refused credential is a failed sign-in for ELK (ECS authentication/start, failure): a
      // 401, or a valid identity refused by the provider (403 IDENTITY_UNMAPPED). Once only: a
      // console sign-in that logged its own refusal (`signInLogged`) is not counted again here.
      const refused = res.locals.signInLogged !== true && (res.statusCode === 401 || (res.locals.authRefused === true && res.statusCode < 500));
      const auth = refused ? signInEcs('failure', 'auth.failed') : {};
      req.log[level]({
        ...auth,
        'http.request.method': req.method,
        'url.path': req.path,
        'http.response.status_code': res.statusCode,
        'event.duration': Number(process.hrtime.bigint() - started),
        ...(res.locals.principal ? { 'user.name': (res.locals.principal as { name: string }).name } : {}),
      }, 'request completed');
    });
    next();
  };
}
