/**
 * CI's lookup by tag around an automatic revocation (issue 13.3), on the real Redis store with
 * main.ts's wiring: every answer is the approval, or NOT_APPROVED with reason REVOKED naming
 * the digest and the reason; never a plain NOT_APPROVED. The window this closes: the
 * revocation's script drops the tag from the ledger, and the tag's revoked digest used to be
 * written only later, when the health subscriber heard `approval.revoked`.
 *
 * Two probes: a deterministic one (a lookup made from inside the revocation, when the requests
 * of the digest move to `revoked`, after the script and before the announcement), and many
 * concurrent lookups by tag while twelve approvals are revoked at once, as the sweep does it
 * (`revoke` through the intake revocation service, then `markRevoked`).
 */
import { createHash } from 'node:crypto';
import { AppError } from '../../../src/lib/errors';
import type { Principal } from '../../../src/lib/identity/types';
import { RedisRequestStore, type Approval } from '../../../src/store';
import type { HealthRecord } from '../../../src/monitor/types';
import { startTestApp, type TestApp } from '../../harness/app';
import { uniqueName } from '../../harness/services';
import { awaiting } from '../../unit/intake/fakes';

const N = 12;
const TEAM = 'payments';
const ci: Principal = { name: 'ci', roles: ['ci'], teams: [TEAM] };
type Answer = { ok: true; digest: string } | { ok: false; code: string; details: Record<string, unknown> | undefined };

describe('CI lookup by tag while approvals are revoked automatically', () => {
  let app: TestApp;
  beforeAll(async () => { app = await startTestApp({ worker: false }); });
  afterAll(async () => { await app?.stop(); });

  /** One approval of `registry.test/<repo>:1` with its request and an `ok` health record, as a completed approval has. */
  async function seed(i: number, run: string): Promise<Approval> {
    const repo = `${run}/img-${i}`;
    const image = `registry.test/${repo}`;
    const digest = `sha256:${createHash('sha256').update(`${run}/${i}`).digest('hex')}`;
    const requestId = `${run}-r${i}`;
    const approval: Approval = {
      team: TEAM, digest, image, tags: ['1'], platforms: [], internalRef: `reg/approved/${TEAM}/${repo}@${digest}`,
      internalRepository: `approved/${TEAM}/${repo}`, internalTag: '1', approvedAt: new Date().toISOString(), approvedBy: ['approver'], requestId,
    };
    await app.services.approvals.put(approval);
    await app.services.approvals.addTag({ team: TEAM, image, platforms: [] }, '1', digest);
    await new RedisRequestStore(app.redis, app.config.redis.prefix).create(awaiting({
      id: requestId, image: `${image}:1`, status: 'approved', internalRef: approval.internalRef, stagedDigest: digest,
      source: { registry: 'registry.test', repository: repo, tag: '1', digest },
    }));
    const at = new Date().toISOString();
    const record: HealthRecord = {
      team: TEAM, image, digest, requestId, tags: ['1'], platforms: [], state: 'ok', since: at, evaluatedAt: at, maxSeverity: 'none',
      blocking: [], diff: { added: [], removed: [], addedTotal: 0, removedTotal: 0 }, version: 0,
    };
    expect(await app.services.monitor.health.records.save(record, 0, [])).toBe(true);
    return approval;
  }

  async function lookup(a: Approval): Promise<Answer> {
    try {
      const found = await app.services.approved.lookup(ci, `${a.image}:1`, TEAM);
      return { ok: true, digest: found.digest };
    } catch (err) {
      if (!(err instanceof AppError)) throw err;
      return { ok: false, code: err.code, details: err.details as Record<string, unknown> | undefined };
    }
  }

  const reasonOf = (a: Approval) => `automatic: ${a.image} past its grace`;

  function check(a: Approval, answer: Answer): void {
    if (answer.ok) expect(answer.digest).toBe(a.digest);
    else expect({ code: answer.code, ...answer.details }).toMatchObject({ code: 'NOT_APPROVED', reason: 'REVOKED', digest: a.digest, revokedBy: 'system', revocationReason: reasonOf(a) });
  }

  it('answers the approval or REVOKED with its reason, never a plain NOT_APPROVED', async () => {
    const run = uniqueName('window');
    const approvals: Approval[] = [];
    for (let i = 0; i < N; i++) approvals.push(await seed(i, run));
    for (const a of approvals) expect(await lookup(a)).toEqual({ ok: true, digest: a.digest });

    // The deterministic probe: inside each revocation, once its script ran (the request moves to
    // `revoked` after it), before `approval.revoked` is announced.
    const probes: Array<Promise<[Approval, Answer]>> = [];
    app.services.events.subscribe((e) => {
      if (e.type !== 'request.status_changed' || e.details.to !== 'revoked') return;
      const a = approvals.find((x) => x.requestId === e.target.replace(/^request\//, ''));
      if (a) probes.push(lookup(a).then((answer) => [a, answer]));
    });

    const health = app.services.monitor.health;
    const done = new Set<string>();
    const answers: Array<[Approval, Answer]> = [];
    // Lookups by tag of every approval, concurrently, until its revocation is over, and a few after.
    const hammer = approvals.map(async (a) => {
      for (let after = 0; after < 3; after += done.has(a.digest) ? 1 : 0) {
        const batch = await Promise.all(Array.from({ length: 4 }, () => lookup(a)));
        for (const answer of batch) answers.push([a, answer]);
      }
    });
    // As the sweep revokes one past its deadline: the revocation service, then the health record.
    const revocations = approvals.map(async (a) => {
      await health.deps.revoke(a, reasonOf(a));
      await health.markRevoked(a.team, a.digest, [a.image], 'system', reasonOf(a));
      done.add(a.digest);
    });
    await Promise.all([...revocations, ...hammer]);

    expect(answers.length).toBeGreaterThanOrEqual(N * 12);
    for (const [a, answer] of answers) check(a, answer);
    const probed = await Promise.all(probes);
    expect(probed.map(([a]) => a.digest).sort()).toEqual(approvals.map((a) => a.digest).sort());
    for (const [a, answer] of probed) {
      expect(answer.ok).toBe(false);
      check(a, answer);
    }
    // Over: every tag answers REVOKED.
    for (const a of approvals) {
      const answer = await lookup(a);
      expect(answer.ok).toBe(false);
      check(a, answer);
    }
  });
});
