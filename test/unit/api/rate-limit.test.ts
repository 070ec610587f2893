import type { NextFunction, Request, Response } from 'express';
import { rateLimit, unauthenticatedRateLimit } from '../../../src/api/middleware/rate-limit';

function call(mw: ReturnType<typeof rateLimit>, name: string): unknown {
  let passed: unknown = 'not called';
  const res = { locals: { principal: { name } }, setHeader: () => undefined } as unknown as Response;
  mw({} as Request, res, ((err?: unknown) => { passed = err; }) as NextFunction);
  return passed;
}

describe('per-principal rate limit', () => {
  it('refuses the request over the limit with RATE_LIMITED, per principal, and resets a minute after the first hit', () => {
    let t = 0;
    const mw = rateLimit(2, () => t);
    expect(call(mw, 'a')).toBeUndefined();
    expect(call(mw, 'a')).toBeUndefined();
    expect(call(mw, 'a')).toMatchObject({ code: 'RATE_LIMITED', status: 429 });
    expect(call(mw, 'b')).toBeUndefined();
    t = 60_000;
    expect(call(mw, 'a')).toBeUndefined();
  });

  it("starts each principal's window at its own first request, so a burst cannot straddle a minute", () => {
    let t = 0;
    const mw = rateLimit(2, () => t);
    expect(call(mw, 'early')).toBeUndefined();
    t = 50_000;
    expect(call(mw, 'a')).toBeUndefined();
    expect(call(mw, 'a')).toBeUndefined();
    t = 61_000;
    expect(call(mw, 'a')).toMatchObject({ code: 'RATE_LIMITED' });
    t = 110_000;
    expect(call(mw, 'a')).toBeUndefined();
  });

  it('0 disables the limit', () => {
    const mw = rateLimit(0);
    for (let i = 0; i < 5; i++) expect(call(mw, 'a')).toBeUndefined();
  });
});

describe('per-address limit of failed authentications', () => {
  function request(mw: ReturnType<typeof unauthenticatedRateLimit>, address: string, status: number): unknown {
    let passed: unknown = 'not called';
    let onFinish: () => void = () => undefined;
    const res = { statusCode: status, setHeader: () => undefined, once: (_e: string, f: () => void) => { onFinish = f; } } as unknown as Response;
    mw({ socket: { remoteAddress: address } } as unknown as Request, res, ((err?: unknown) => { passed = err; }) as NextFunction);
    onFinish();
    return passed;
  }

  it('refuses an address after N failed authentications in its window, whatever it sends next', () => {
    let t = 0;
    const mw = unauthenticatedRateLimit(3, () => t);
    for (let i = 0; i < 10; i++) expect(request(mw, '10.0.0.1', 200)).toBeUndefined();
    for (let i = 0; i < 3; i++) expect(request(mw, '10.0.0.2', 401)).toBeUndefined();
    expect(request(mw, '10.0.0.2', 200)).toMatchObject({ code: 'RATE_LIMITED', status: 429 });
    expect(request(mw, '10.0.0.1', 401)).toBeUndefined();
    t = 60_000;
    expect(request(mw, '10.0.0.2', 401)).toBeUndefined();
  });
});
