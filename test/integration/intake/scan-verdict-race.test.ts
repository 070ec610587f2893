/**
 * The scan step's verdict is judged on the record it saves over, on the real Redis store: a
 * waiver (or code scan) saved between the step's read and its save is honoured, and the status
 * (failed or awaiting approval), the stored policy and the error all come from that one record.
 */
import { EventBus, Lifecycle, Pipeline, ScanRunner } from '../../../src/intake';
import { createLogger } from '../../../src/lib/logger';
import type { ScannerAdapter } from '../../../src/scanners/types';
import { RedisRequestStore } from '../../../src/store';
import type { IntakeRequest, PolicyOutcome, RequestStore } from '../../../src/store/types';
import { redisPerTest } from '../../harness/redis-per-test';
import { awaiting, MemoryApprovalStore, MemoryIntakeRegistry, MemoryScanResults, report } from '../../unit/intake/fakes';

const logger = createLogger({ level: 'silent' });
const FINDING = 'CVE-2024-0001';

const scanner: ScannerAdapter = {
  name: 'fixed', type: 'builtin',
  async check() {},
  async dbVersion() { return 'v1'; },
  async scan() { return report([], { scanner: 'fixed' }); },
};

/** Fails until the finding is waived or a code scan is attached. */
function policy({ request }: { request: IntakeRequest }): PolicyOutcome {
  const cleared = request.waivers.some((w) => w.findingId === FINDING) || request.codeScans.length > 0;
  return cleared ? { verdict: 'pass', reasons: [] } : { verdict: 'fail', reasons: [`${FINDING} is blocking`] };
}

describe("the scan step's verdict", () => {
  const db = redisPerTest('scan-verdict');

  /** The real store, with `between` run once just before the step's first transition. */
  function storeWith(between: (inner: RequestStore) => Promise<void>): RequestStore {
    const inner = new RedisRequestStore(db.redis, db.prefix);
    let pending: typeof between | undefined = between;
    return new Proxy(inner, {
      get(target, key, receiver) {
        if (key !== 'transition') return Reflect.get(target, key, receiver) as unknown;
        return async (...args: Parameters<RequestStore['transition']>) => {
          const run = pending;
          pending = undefined;
          if (run) await run(inner);
          return inner.transition(...args);
        };
      },
    });
  }

  async function scanWith(between: (inner: RequestStore) => Promise<void>): Promise<IntakeRequest> {
    const requests = storeWith(between);
    const pipeline = new Pipeline({
      requests, approvals: new MemoryApprovalStore(), registry: new MemoryIntakeRegistry(), logger, policy,
      lifecycle: new Lifecycle(requests, new EventBus()),
      scans: new ScanRunner([scanner], new MemoryScanResults(), logger),
      scheduler: { schedule: async () => {} },
      settings: {
        quarantinePrefix: 'quarantine', approvedPath: 'approved/{team}/{registry}/{repository}', publicHost: 'reg.test', approvalsRequired: 1,
        onPolicyFail: 'reject',
      },
    });
    await requests.create(awaiting({ status: 'scanning', scans: [] }));
    await pipeline.scan('r1');
    return (await requests.get('r1'))!;
  }

  it('honours a waiver saved between its read and its save (awaiting approval, policy pass)', async () => {
    const saved = await scanWith(async (inner) => {
      await inner.update('r1', (r) => ({
        ...r, waivers: [{ findingId: FINDING, reason: 'not reachable', expires: '2099-01-01T00:00:00.000Z', by: 'approver', at: '2025-01-01T00:00:00.000Z' }],
      }));
    });
    expect([saved.status, saved.policy, saved.error]).toEqual(['awaiting_approval', { verdict: 'pass', reasons: [] }, null]);
    expect(saved.history.at(-1)).toMatchObject({ status: 'awaiting_approval', note: 'policy pass' });
  });

  it('fails it, with the policy and error of the record it saved over, when nothing cleared the finding', async () => {
    const saved = await scanWith(async (inner) => {
      await inner.update('r1', (r) => ({ ...r, justification: 'edited meanwhile' }));
    });
    expect([saved.status, saved.justification, saved.policy?.verdict]).toEqual(['failed', 'edited meanwhile', 'fail']);
    expect(saved.error).toEqual({ code: 'POLICY_FAILED', message: `${FINDING} is blocking` });
    expect(saved.history.at(-1)).toMatchObject({ status: 'failed', note: 'POLICY_FAILED' });
  });
});
