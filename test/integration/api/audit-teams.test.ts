/**
 * `GET /v1/audit` within the caller's teams (issue 8.5): an admin of one team never reads
 * another team's entries nor site-wide ones; paging walks past other teams' entries, bounded
 * per call, with a cursor that loses nothing.
 */
import { AuditReader, type AuditEntry } from '../../../src/audit';
import { startTestApp, type TestApp } from '../../harness/app';

describe('GET /v1/audit within the caller\'s teams', () => {
  let app: TestApp;
  beforeAll(async () => {
    app = await startTestApp({ worker: false });
    const audit = app.services.audit;
    // payments, then 40 logistics entries, then payments and site-wide entries.
    await audit.append({ actor: 'a', action: 'request.created', target: 'request/p1', details: { team: 'payments' } });
    for (let i = 0; i < 40; i++) await audit.append({ actor: 'b', action: 'request.created', target: `request/l${i}`, details: { team: 'logistics' } });
    await audit.append({ actor: 'c', action: 'audit.archived', target: 'audit/x', details: {} });
    await audit.append({ actor: 'a', action: 'request.approved', target: 'request/p1', details: { team: 'payments' } });
    await audit.append({ actor: 'a', action: 'request.created', target: 'request/p2', details: { team: 'payments' } });
  });
  afterAll(async () => { await app.stop(); });

  async function walk(who: 'paymentsAdmin' | 'admin' | 'auditor', limit: number): Promise<{ items: AuditEntry[]; calls: number }> {
    const items: AuditEntry[] = [];
    let calls = 0;
    for (let after: number | null = 0; after !== null;) {
      const res = await app.call(who, 'GET', `/v1/audit?after=${after}&limit=${limit}`);
      expect(res.status).toBe(200);
      items.push(...(res.body.items as AuditEntry[]));
      after = res.body.next as number | null;
      calls += 1;
    }
    return { items, calls };
  }

  it('an admin of one team reads only that team\'s entries, page by page, none lost or repeated', async () => {
    const { items } = await walk('paymentsAdmin', 2);
    expect(items.map((e) => [e.action, e.target])).toEqual([
      ['request.created', 'request/p1'], ['request.approved', 'request/p1'], ['request.created', 'request/p2'],
    ]);
    const first = await app.call('paymentsAdmin', 'GET', '/v1/audit?limit=2');
    expect(first.body.items).toHaveLength(2);
    expect(first.body.next).toBe(first.body.items[1].seq);
  });

  it('an admin of every team and an auditor read everything, site-wide entries included', async () => {
    for (const who of ['admin', 'auditor'] as const) {
      const { items } = await walk(who, 10);
      expect(items).toHaveLength(44);
      expect(items.map((e) => e.seq)).toEqual(Array.from({ length: 44 }, (_, i) => i + 1));
    }
  });

  it('bounds the entries scanned per call and returns a cursor to go on', async () => {
    const reader = new AuditReader(app.services.audit, 10);
    const first = await reader.list(['payments'], 1, 5);
    expect(first).toEqual({ items: [], next: 11 });
    const pages = [first];
    while (pages[pages.length - 1].next !== null) pages.push(await reader.list(['payments'], pages[pages.length - 1].next as number, 5));
    expect(pages.flatMap((p) => p.items).map((e) => e.seq)).toEqual([43, 44]);
    expect(pages.length).toBe(5);
  });
});
