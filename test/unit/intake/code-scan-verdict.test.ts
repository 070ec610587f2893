/**
 * Code-scan evidence re-evaluates the verdict of a request that has one, in the same save,
 * as a waiver does: the approval queue must not show a verdict that ignores the evidence.
 */
import { CodeScanService, EventBus, policyEvaluator } from '../../../src/intake';
import type { Principal } from '../../../src/lib/identity/types';
import { policyConfigSchema } from '../../../src/policy';
import type { CodeScan } from '../../../src/scanners';
import type { CodeScanStore } from '../../../src/store/types';
import { awaiting, finding, MemoryRequestStore, report } from './fakes';

const dev: Principal = { name: 'dev', roles: ['developer'], teams: ['payments'] };
const details: CodeScanStore = { putFindings: async () => undefined, getFindings: async () => null, deleteFindings: async () => undefined };
const sqlInjection: CodeScan = {
  tool: 'CodeQL', findings: [finding({ id: 'js/sql-injection', aliases: [], kind: 'code', severity: 'critical', fixedVersion: undefined, package: undefined })],
};

describe('code-scan evidence and the verdict', () => {
  const policy = policyEvaluator(policyConfigSchema.parse({}));

  it('re-evaluates a request awaiting approval: a critical code finding fails it and is named as blocking', async () => {
    const requests = new MemoryRequestStore();
    await requests.create(awaiting({ scans: [report([])], policy: { verdict: 'pass', reasons: [], blocking: [] } }));
    const { request } = await new CodeScanService({ requests, details, events: new EventBus(), policy }).attach(dev, 'r1', [sqlInjection]);
    expect(request.policy).toMatchObject({ verdict: 'fail', blocking: ['js/sql-injection'] });
    expect((await requests.get('r1'))?.policy?.verdict).toBe('fail');
  });

  it('leaves a request without a verdict yet (before scanning) to the scan step', async () => {
    const requests = new MemoryRequestStore();
    await requests.create(awaiting({ status: 'staging', scans: [], policy: null }));
    const { request } = await new CodeScanService({ requests, details, events: new EventBus(), policy }).attach(dev, 'r1', [sqlInjection]);
    expect(request.policy).toBeNull();
    expect(request.codeScans).toHaveLength(1);
  });
});
