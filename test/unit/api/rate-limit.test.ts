import type { NextFunction, Request, Response } from 'express';
import { MAX_KEYS, rateLimit, unauthenticatedRateLimit } from '../../../src/api/middleware/rate-limit';
import { AppError } from '../../../src/lib/errors';

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
  const unauthenticated = () => new AppError('UNAUTHENTICATED', 'the bearer token is not valid');
  /** One request through the limiter, an authentication that fails or not, and `refuse`. */
  function request(mw: ReturnType<typeof unauthenticatedRateLimit>, address: string, authenticated: boolean): unknown {
    let passed: unknown = 'not called';
    let onFinish: () => void = () => undefined;
    const res = { statusCode: 200, setHeader: () => undefined, once: (_e: string, f: () => void) => { onFinish = f; } } as unknown as Response;
    const req = { socket: { remoteAddress: address } } as unknown as Request;
    mw(req, res, ((err?: unknown) => {
      if (err !== undefined) { passed = err; return; }
      if (authenticated) { passed = undefined; return; }
      mw.refuse(unauthenticated(), req, res, ((e?: unknown) => { passed = e; }) as NextFunction);
    }) as NextFunction);
    res.statusCode = passed === undefined ? 200 : (passed as AppError).status;
    onFinish();
    return passed;
  }

  it('answers 429 instead of 401 to an address after N failed authentications in its window', () => {
    let t = 0;
    const mw = unauthenticatedRateLimit(3, () => t);
    for (let i = 0; i < 10; i++) expect(request(mw, '10.0.0.1', true)).toBeUndefined();
    for (let i = 0; i < 3; i++) expect(request(mw, '10.0.0.2', false)).toMatchObject({ code: 'UNAUTHENTICATED', status: 401 });
    expect(request(mw, '10.0.0.2', false)).toMatchObject({ code: 'RATE_LIMITED', status: 429 });
    expect(request(mw, '10.0.0.1', false)).toMatchObject({ code: 'UNAUTHENTICATED' });
    t = 60_000;
    expect(request(mw, '10.0.0.2', false)).toMatchObject({ code: 'UNAUTHENTICATED' });
  });

  it('lets a valid token through from a limited address (a proxy: every client shares one)', () => {
    const mw = unauthenticatedRateLimit(30, () => 0);
    for (let i = 0; i < 35; i++) request(mw, '10.0.0.5', false);
    expect(request(mw, '10.0.0.5', false)).toMatchObject({ code: 'RATE_LIMITED' });
    expect(request(mw, '10.0.0.5', true)).toBeUndefined();
  });

  it('tracks an address only when it fails authentication', () => {
    const mw = unauthenticatedRateLimit(30, () => 0);
    for (let i = 0; i < 1000; i++) request(mw, `10.1.${i >> 8}.${i & 255}`, true);
    expect(mw.tracked()).toBe(0);
    request(mw, '10.2.0.1', false);
    request(mw, '10.2.0.1', false);
    expect(mw.tracked()).toBe(1);
  });

  it('holds at most MAX_KEYS addresses, however many fail within a minute, and drops expired ones', () => {
    let t = 1_000_000;
    const mw = unauthenticatedRateLimit(30, () => t);
    for (let i = 0; i < 50_000; i++) request(mw, `2001:db8::${i.toString(16)}`, false);
    expect(mw.tracked()).toBe(MAX_KEYS);
    // The newest addresses are the ones kept.
    for (let i = 0; i < 29; i++) request(mw, '2001:db8::c34f', false);
    expect(request(mw, '2001:db8::c34f', false)).toMatchObject({ code: 'RATE_LIMITED' });
    t += 60_000;
    request(mw, '10.3.0.1', false);
    expect(mw.tracked()).toBe(1);
  });
});
