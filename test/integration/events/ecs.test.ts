/**
 * ECS on real log lines: the audit log's lines (chained in real Redis), the alert lines, the
 * API's access lines and error lines are parsed back from what pino wrote, and their
 * categorization is checked against the ECS allowed values.
 */
import { randomBytes } from 'node:crypto';
import Redis from 'ioredis';
import { AuditKeyring, RedisAuditLog } from '../../../src/audit';
import { alertLogger } from '../../../src/events/alerts';
import { ECS_CATEGORIES, ECS_KINDS, ECS_OUTCOMES, ECS_TYPES } from '../../../src/lib/ecs';
import { AppError } from '../../../src/lib/errors';
import { createLogger } from '../../../src/lib/logger';
import { startTestApp } from '../../harness/app';
import { services, uniqueName } from '../../harness/services';

type Line = Record<string, any>;

function capture(): { logger: ReturnType<typeof createLogger>; lines: Line[] } {
  const lines: Line[] = [];
  const logger = createLogger({ level: 'info', destination: { write: (l: string) => { lines.push(JSON.parse(l) as Line); } } });
  return { logger, lines };
}

function expectEcs(line: Line): void {
  expect(ECS_KINDS).toContain(line['event.kind']);
  for (const c of line['event.category']) expect(ECS_CATEGORIES).toContain(c);
  for (const t of line['event.type']) expect(ECS_TYPES).toContain(t);
  expect(ECS_OUTCOMES).toContain(line['event.outcome']);
  expect(line['event.dataset']).toBe('portcullis.audit');
}

describe('ECS log lines', () => {
  let redis: Redis;
  beforeAll(() => { redis = new Redis(services().redis.url); });
  afterAll(async () => { await redis.quit(); });

  it('audit lines carry the ECS categorization of each decision and the chain hash as event.hash', async () => {
    const { logger, lines } = capture();
    const log = new RedisAuditLog(redis, uniqueName('ecs'), { keys: AuditKeyring.parse(`k1:${randomBytes(32).toString('base64')}`), logger });
    const approved = await log.append({ actor: 'alice', action: 'request.approved', target: 'request/1', details: { team: 'payments' } });
    const rejected = await log.append({ actor: 'bob', action: 'request.rejected', target: 'request/2', details: { team: 'payments' } });
    const revoked = await log.append({ actor: 'admin', action: 'approval.revoked', target: 'approval/payments/sha256:x', details: {} });
    const failed = await log.append({ actor: 'system', action: 'request.status_changed', target: 'request/3', details: { to: 'failed' } });
    const byAction = (a: string) => lines.find((l) => l['event.action'] === a) as Line;
    for (const l of lines) expectEcs(l);
    expect(byAction('request.approved')).toMatchObject({ 'event.kind': 'event', 'event.category': ['configuration'], 'event.type': ['change', 'allowed'], 'event.outcome': 'success', 'event.hash': approved.hash, 'user.name': 'alice' });
    expect(byAction('request.rejected')).toMatchObject({ 'event.category': ['configuration'], 'event.type': ['change', 'denied'], 'event.hash': rejected.hash });
    expect(byAction('approval.revoked')).toMatchObject({ 'event.type': ['change', 'denied'], 'event.hash': revoked.hash });
    expect(byAction('request.status_changed')).toMatchObject({ 'event.outcome': 'failure', 'event.hash': failed.hash });
  });

  it('alert lines are event.kind alert with the advisory as vulnerability.id; other events are not alerts', () => {
    const { logger, lines } = capture();
    const alert = alertLogger(logger);
    alert({ type: 'approval.at_risk', actor: 'system', target: 'approval/payments/sha256:abc', details: { team: 'payments', digest: 'sha256:abc', image: 'docker.io/library/nginx', cves: ['CVE-2024-1'] } });
    alert({ type: 'request.created', actor: 'dev', target: 'request/1', details: {} });
    expect(lines).toHaveLength(1);
    expectEcs(lines[0]);
    expect(lines[0]).toMatchObject({ 'event.kind': 'alert', 'event.action': 'approval.at_risk', 'vulnerability.id': ['CVE-2024-1'], 'container.image.name': 'docker.io/library/nginx', 'log.level': 'warn' });
  });

  it('errors are logged as error.type, error.message and error.stack_trace only', () => {
    const { logger, lines } = capture();
    const cause = new Error('socket hang up');
    logger.error({ error: new AppError('DEPENDENCY_UNAVAILABLE', 'redis://u:pw@host down', { cause, details: { secret: 'x' } }) }, 'failed');
    logger.warn({ err: Object.assign(new Error('ECONNRESET while reading'), { code: 'ECONNRESET' }) }, 'retrying');
    expect(Object.keys(lines[0].error).sort()).toEqual(['message', 'stack_trace', 'type']);
    expect(lines[0].error).toMatchObject({ type: 'DEPENDENCY_UNAVAILABLE', message: 'redis://u:[REDACTED]@host down' });
    expect(lines[0]['error.code']).toBeUndefined();
    expect(Object.keys(lines[1].error).sort()).toEqual(['message', 'stack_trace', 'type']);
    expect(lines[1].error.type).toBe('ECONNRESET');
    expect(lines[1].err).toBeUndefined();
  });

  it('an expected 4xx is an info line, not a warning; a refused token is a failed authentication', async () => {
    const app = await startTestApp({ worker: false });
    const { logger, lines } = capture();
    // The app's own logger is silent in tests: watch the same middleware through a capturing app.
    const { createApp } = await import('../../../src/api/app');
    const { v1Router } = await import('../../../src/api/v1');
    const { RedisRateCounter } = await import('../../../src/lib/rate-counter');
    // The provider refuses a valid identity its groups do not map (OIDC's 403 IDENTITY_UNMAPPED) for this one token.
    const provider = app.services.auth.provider;
    const identity: typeof provider = Object.assign(Object.create(provider) as typeof provider, {
      authenticate: (token: string) => (token === 'token-unmapped' ? Promise.reject(new AppError('IDENTITY_UNMAPPED', 'none of your identity provider groups grants a role here')) : provider.authenticate(token)),
    });
    // The console's token sign-in (src/ui/auth.ts) on the same app, with what its routes use.
    const { default: expressFactory } = await import('express');
    const { loginRoutes } = await import('../../../src/ui/auth');
    const consoleRoutes = expressFactory.Router();
    consoleRoutes.use('/ui', expressFactory.urlencoded({ extended: false }));
    loginRoutes(consoleRoutes, { identity, failedAuth: { counter: new RedisRateCounter(app.redis, `${app.config.redis.prefix}:rl:ui`), perMinute: 0 }, secureCookies: false } as unknown as Parameters<typeof loginRoutes>[1]);
    const express = createApp({
      logger, readiness: [],
      routers: [consoleRoutes, v1Router({
        identity, ...app.services, robots: app.services.auth.robots, principals: app.services.auth.principals, limits: app.config.server,
        rateCounters: { principals: new RedisRateCounter(app.redis, `${app.config.redis.prefix}:rl:p`), addresses: new RedisRateCounter(app.redis, `${app.config.redis.prefix}:rl:a`) },
      })],
    });
    const server = express.listen(0, '127.0.0.1');
    await new Promise((r) => server.once('listening', r));
    const url = `http://127.0.0.1:${(server.address() as { port: number }).port}`;
    try {
      expect((await fetch(`${url}/v1/requests/nope`, { headers: { authorization: 'Bearer token-dev' } })).status).toBe(404);
      expect((await fetch(`${url}/v1/requests`, { headers: { authorization: 'Bearer wrong' } })).status).toBe(401);
      const notFound = lines.find((l) => l['http.response.status_code'] === 404) as Line;
      expect(notFound['log.level']).toBe('info');
      const denied = lines.find((l) => l['http.response.status_code'] === 401) as Line;
      expect(denied).toMatchObject({ 'log.level': 'info', 'event.category': ['authentication'], 'event.type': ['start'], 'event.outcome': 'failure' });
      expectEcs(denied);
      // A valid identity the provider refuses (403 IDENTITY_UNMAPPED) is a failed sign-in too; a plain 403 (a role short) is not.
      const unmapped = await fetch(`${url}/v1/requests`, { headers: { authorization: 'Bearer token-unmapped' } });
      expect(unmapped.status).toBe(403);
      expect(((await unmapped.json()) as { error: { code: string } }).error.code).toBe('IDENTITY_UNMAPPED');
      const refused = lines.find((l) => l['http.response.status_code'] === 403) as Line;
      expect(refused).toMatchObject({ 'log.level': 'info', 'event.kind': 'event', 'event.category': ['authentication'], 'event.type': ['start'], 'event.outcome': 'failure', 'event.action': 'auth.failed' });
      expectEcs(refused);
      expect((await fetch(`${url}/v1/notifications/deliveries`, { headers: { authorization: 'Bearer token-dev' } })).status).toBe(403);
      const forbidden = lines.filter((l) => l['http.response.status_code'] === 403).at(-1) as Line;
      expect(forbidden['event.category']).toBeUndefined();

      // The console's sign-in refusal: the full ECS categorization of a failed sign-in.
      const form = await fetch(`${url}/ui/login`);
      const loginCookie = form.headers.getSetCookie().find((c) => c.startsWith('portcullis_login='))!.split(';')[0]!;
      const csrf = /name="csrf" value="([^"]+)"/.exec(await form.text())![1]!;
      for (const token of ['not-a-token', 'token-unmapped']) {
        const signIn = await fetch(`${url}/ui/login`, { method: 'POST', headers: { cookie: loginCookie, 'content-type': 'application/x-www-form-urlencoded' }, body: new URLSearchParams({ csrf, token }) });
        expect(signIn.status).toBe(token === 'token-unmapped' ? 403 : 401);
      }
      const consoleRefusals = lines.filter((l) => l.message === 'console sign-in refused');
      expect(consoleRefusals.map((l) => l['error.code'])).toEqual(['UNAUTHENTICATED', 'IDENTITY_UNMAPPED']);
      // One failed-sign-in line per attempt: the access lines of the two POSTs are not counted again.
      const signInAccess = lines.filter((l) => l.message === 'request completed' && l['url.path'] === '/ui/login' && l['http.request.method'] === 'POST');
      expect(signInAccess.map((l) => l['http.response.status_code'])).toEqual([401, 403]);
      for (const l of signInAccess) expect(l['event.category']).toBeUndefined();
      for (const l of consoleRefusals) {
        expect(l).toMatchObject({ 'log.level': 'info', 'event.kind': 'event', 'event.category': ['authentication'], 'event.type': ['start'], 'event.outcome': 'failure', 'event.action': 'login.failed' });
        expectEcs(l);
      }
      expect(lines.filter((l) => l['log.level'] === 'warn' || l['log.level'] === 'error')).toEqual([]);
    } finally {
      server.close();
      await app.stop();
    }
  });
});
