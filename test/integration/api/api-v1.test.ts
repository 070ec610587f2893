/** The v1 API's edges on real services: auth, validation, limits, listing, queue, N approvers, dedup. */
import { startTestApp, type TestApp } from '../../harness/app';
import { buildImage, pushImage } from '../../harness/images';
import { services, uniqueName } from '../../harness/services';

describe('REST API v1', () => {
  const svc = services();
  let app: TestApp;
  let image: string;

  beforeAll(async () => {
    app = await startTestApp({ config: { policy: { approvals: { required: 2 } }, server: { host: '127.0.0.1', port: 0, rateLimitPerMinute: 40 } } });
    const repo = uniqueName('api');
    await pushImage(svc.upstream.url, repo, 'v1', await buildImage({ layers: [{ files: { f: 'api' } }] }));
    image = `${svc.upstream.host}/${repo}:v1`;
  });
  afterAll(async () => { await app.stop(); });

  it('asks for a bearer token (401) and refuses a missing role (403)', async () => {
    for (const res of [await app.call(null, 'GET', '/v1/queue'), await app.call(null, 'GET', '/v1/queue', undefined, { authorization: 'Bearer nope' })]) {
      expect(res.status).toBe(401);
      expect(res.headers.get('www-authenticate')).toMatch(/^Bearer/);
      expect(res.body.error.code).toBe('UNAUTHENTICATED');
    }
    expect((await app.call('ci', 'GET', '/v1/requests')).status).toBe(403);
    expect((await app.call('ci', 'GET', '/v1/audit')).status).toBe(403);
    expect((await app.call('approver', 'POST', '/v1/requests', { image, team: 'payments', justification: 'x' })).status).toBe(403);
    expect((await app.call('dev', 'POST', '/v1/requests', { image, team: 'logistics', justification: 'x' })).status).toBe(403);
  });

  it('validates bodies: unknown fields, size, media type, JSON, references', async () => {
    const unknown = await app.call('dev', 'POST', '/v1/requests', { image, team: 'payments', justification: 'x', priority: 'high' });
    expect(unknown.status).toBe(400);
    expect(unknown.body.error).toMatchObject({ code: 'UNKNOWN_FIELD', message: expect.stringContaining('priority') });
    const big = await app.call('dev', 'POST', '/v1/requests', { image, team: 'payments', justification: 'x'.repeat(1024 * 1024 + 10) });
    expect(big.status).toBe(413);
    expect(big.body.error.code).toBe('BODY_TOO_LARGE');
    expect((await app.call('dev', 'POST', '/v1/requests', 'image=x', { 'content-type': 'text/plain' })).status).toBe(415);
    expect((await app.call('dev', 'POST', '/v1/requests', '{"image":', {})).body.error.code).toBe('INVALID_REQUEST');
    expect((await app.call('dev', 'POST', '/v1/requests', { image, team: 'payments' })).body.error.code).toBe('INVALID_REQUEST');
    expect((await app.call('dev', 'POST', '/v1/requests', { image: 'UPPER/Case', team: 'payments', justification: 'x' })).body.error.code).toBe('INVALID_REFERENCE');
    expect((await app.call('dev', 'GET', '/v1/requests?colour=red')).body.error.code).toBe('UNKNOWN_FIELD');
  });

  it('shares one run between concurrent requests for the same image and team', async () => {
    const body = { image, team: 'payments', justification: 'dedup' };
    const [a, b] = await Promise.all([app.call('devApprover', 'POST', '/v1/requests', body), app.call('dev', 'POST', '/v1/requests', body)]);
    expect([a.status, b.status]).toEqual([202, 202]);
    expect(a.body.id).toBe(b.body.id);
  });

  it('lists per team with cursors; the queue holds only what the caller may decide, oldest first', async () => {
    const [first] = (await app.call('dev', 'GET', '/v1/requests?limit=1')).body.items;
    await app.waitForStatus(first.id, ['awaiting_approval']);
    const page = await app.call('dev', 'GET', '/v1/requests?limit=1&team=payments');
    expect(page.body.items).toHaveLength(1);
    expect((await app.call('otherDev', 'GET', '/v1/requests')).body).toEqual({ items: [], next: null });
    expect((await app.call('otherDev', 'GET', '/v1/requests?team=payments')).body).toEqual({ items: [], next: null });
    expect((await app.call('auditor', 'GET', '/v1/requests?status=awaiting_approval')).body.items.map((r: { id: string }) => r.id)).toContain(first.id);
    const queueOf = async (who: 'approver2' | 'devApprover') => (await app.call(who, 'GET', '/v1/queue')).body;
    expect((await queueOf('approver2')).items.map((r: { id: string }) => r.id)).toContain(first.id);
    const own = await queueOf('devApprover');
    expect(own.items.filter((r: { requestedBy: string }) => r.requestedBy === 'devApprover')).toEqual([]);
    expect(own.items.length + (first.requestedBy === 'devApprover' ? 1 : 0)).toBe(1);
    expect((await app.call('dev', 'GET', '/v1/queue')).status).toBe(403);
  });

  it('needs policy.approvals.required distinct approvers before promotion', async () => {
    const [r] = (await app.call('dev', 'GET', '/v1/requests?limit=1')).body.items;
    const one = await app.call('approver', 'POST', `/v1/requests/${r.id}/approve`, { comment: 'first' });
    expect(one.status).toBe(200);
    expect(one.body.status).toBe('awaiting_approval');
    expect((await app.call('approver', 'POST', `/v1/requests/${r.id}/approve`, {})).status).toBe(409);
    const two = await app.call('approver2', 'POST', `/v1/requests/${r.id}/approve`, { comment: 'second' });
    expect(two.status).toBe(202);
    expect((await app.waitForStatus(r.id, ['approved', 'failed'])).status).toBe('approved');
    const found = await app.call('ci', 'GET', `/v1/approved?image=${encodeURIComponent(image)}&team=payments`);
    expect(found.body.approvedBy.sort()).toEqual(['approver', 'approver2']);
  });

  it('limits requests per principal per minute', async () => {
    // The window starts at this principal's first request, so no minute boundary falls inside the loop.
    const statuses: number[] = [];
    for (let i = 0; i < 41; i++) statuses.push((await app.call('limited', 'GET', '/v1/requests')).status);
    expect(statuses.slice(0, 40).every((s) => s === 200)).toBe(true);
    expect(statuses[40]).toBe(429);
    expect((await app.call('auditor', 'GET', '/v1/requests?limit=1')).status).toBe(200);
  });

  // Last in the file: once over the limit, this address (the test's) gets 429 for bad tokens for a minute.
  it('limits failed authentications per client address, letting valid tokens through', async () => {
    const statuses: number[] = [];
    for (let i = 0; i < 41; i++) statuses.push((await app.call(null, 'GET', '/v1/queue', undefined, { authorization: `Bearer guess-${i}` })).status);
    // The file's first test spent two failures of the budget of 40 already.
    const first = statuses.indexOf(429);
    expect(first).toBe(38);
    expect(new Set(statuses.slice(0, first))).toEqual(new Set([401]));
    expect(new Set(statuses.slice(first))).toEqual(new Set([429]));
    expect((await app.call(null, 'GET', '/v1/queue')).status).toBe(429);
    // A valid token from the same address still passes: behind a proxy every client shares it.
    expect((await app.call('auditor', 'GET', '/v1/requests?limit=1')).status).toBe(200);
    expect((await app.call(null, 'GET', '/v1/queue', undefined, { authorization: 'Bearer guess-again' })).status).toBe(429);
  });
});
