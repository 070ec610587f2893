import type { NextFunction, Request, Response } from 'express';
import { rateLimit } from '../../../src/api/middleware/rate-limit';

function call(mw: ReturnType<typeof rateLimit>, name: string): unknown {
  let passed: unknown = 'not called';
  const res = { locals: { principal: { name } }, setHeader: () => undefined } as unknown as Response;
  mw({} as Request, res, ((err?: unknown) => { passed = err; }) as NextFunction);
  return passed;
}

describe('per-principal rate limit', () => {
  it('refuses the request over the limit with RATE_LIMITED, per principal, and resets each minute', () => {
    let t = 0;
    const mw = rateLimit(2, () => t);
    expect(call(mw, 'a')).toBeUndefined();
    expect(call(mw, 'a')).toBeUndefined();
    expect(call(mw, 'a')).toMatchObject({ code: 'RATE_LIMITED', status: 429 });
    expect(call(mw, 'b')).toBeUndefined();
    t = 60_000;
    expect(call(mw, 'a')).toBeUndefined();
  });

  it('0 disables the limit', () => {
    const mw = rateLimit(0);
    for (let i = 0; i < 5; i++) expect(call(mw, 'a')).toBeUndefined();
  });
});
