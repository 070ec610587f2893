/** Sending a console page, and the error page every route falls back to. */
import type { NextFunction, Request, Response } from 'express';
import { AppError, toAppError } from '../lib/errors';
import { uiOf } from './auth';
import { html, type Html } from './html';
import { errorBox, page } from './layout';
import { shownError } from './messages';

export function send(res: Response, title: string, body: Html, status = 200): void {
  res.status(status).type('html').send(page(uiOf(res).ctx, title, body).value);
}

export function uiNotFound() {
  return (req: Request, _res: Response, next: NextFunction): void => next(new AppError('NOT_FOUND', `no page ${req.path}`));
}

/** Errors as a page (the code in words), or as JSON for a fetch that asked for it. */
export function uiErrorHandler() {
  return (err: unknown, req: Request, res: Response, _next: NextFunction): void => {
    const e = toAppError(err);
    if (e.status >= 500) req.log?.error({ error: e.cause instanceof Error ? e.cause : e, 'error.code': e.code }, 'console request failed');
    if (res.headersSent) return;
    if (req.accepts(['html', 'json']) === 'json') {
      res.status(e.status).json({ error: { code: e.code, message: e.status >= 500 ? `internal error (request id ${req.id})` : e.message } });
      return;
    }
    const ui = res.locals.ui as { ctx: Parameters<typeof page>[0] } | undefined;
    const title = e.status === 404 ? 'Not found' : e.status === 403 ? 'Not allowed' : e.status === 401 ? 'Sign in' : 'Error';
    const body = html`${errorBox(shownError(e))}${e.status === 401 ? html`<p><a href="/ui/login">Sign in</a></p>` : html`<p><a href="/ui/overview">Back to the overview</a></p>`}`;
    res.status(e.status).type('html').send(page(ui?.ctx ?? null, title, body, req.id).value);
  };
}
