import { looksLikeJwt } from '../../../src/identity/jwt';
import { VerifiedTokenCache } from '../../../src/identity/token-cache';
import { claimAt } from '../../../src/identity/workload';

const b64 = (v: unknown): string => Buffer.from(JSON.stringify(v)).toString('base64url');

describe('identity helpers', () => {
  it('tells JWTs from static and robot tokens', () => {
    expect(looksLikeJwt(`${b64({ alg: 'RS256' })}.${b64({ sub: 'a' })}.sig`)).toBe(true);
    expect(looksLikeJwt(`${b64({ alg: 'none' })}.${b64({ sub: 'a' })}.`)).toBe(true);
    expect(looksLikeJwt('token-dev')).toBe(false);
    expect(looksLikeJwt(`pcr_0123456789abcdef_${'a'.repeat(43)}`)).toBe(false);
    expect(looksLikeJwt('a.b.c')).toBe(false);
    expect(looksLikeJwt(`${b64({ typ: 'JWT' })}.${b64({})}.x`)).toBe(false);
  });

  it('reads claims by exact name first, then as a dotted path into objects', () => {
    const claims = { 'kubernetes.io': { namespace: 'payments-ci', serviceaccount: { name: 'builder' } }, project_path: 'bank/api', 'a.b': 'flat', a: { b: 'nested' } };
    expect(claimAt(claims, 'kubernetes.io.namespace')).toBe('payments-ci');
    expect(claimAt(claims, 'kubernetes.io.serviceaccount.name')).toBe('builder');
    expect(claimAt(claims, 'project_path')).toBe('bank/api');
    expect(claimAt(claims, 'a.b')).toBe('flat');
    expect(claimAt(claims, 'kubernetes.io.pod')).toBeUndefined();
    expect(claimAt(claims, 'toString')).toBeUndefined();
  });

  it('serves a verified token only within its own exp and nbf and the cache lifetime', () => {
    let now = 1_000_000_000_000;
    const cache = new VerifiedTokenCache(() => new Date(now), 60_000, 2, 30);
    const p = { name: 'a', roles: ['ci' as const], teams: ['t'] };
    cache.set('t1', p, { exp: now / 1000 + 10, nbf: now / 1000 - 5 });
    expect(cache.get('t1')).toEqual(p);
    now += 39_000; // exp + 29 s of skew
    expect(cache.get('t1')).toEqual(p);
    now += 2_000;
    expect(cache.get('t1')).toBeUndefined();
    cache.set('t2', p, { exp: now / 1000 + 3600 });
    now += 60_000;
    expect(cache.get('t2')).toBeUndefined();
    // Bounded: the oldest entry goes first.
    cache.set('a', p, { exp: now / 1000 + 3600 });
    cache.set('b', p, { exp: now / 1000 + 3600 });
    cache.set('c', p, { exp: now / 1000 + 3600 });
    expect([cache.get('a'), cache.get('b'), cache.get('c')].map(Boolean)).toEqual([false, true, true]);
  });
});
