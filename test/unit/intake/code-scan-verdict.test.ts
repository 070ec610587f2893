/**
 * Code-scan evidence re-evaluates the verdict of a request that has one, in the same save,
 * as a waiver does: the approval queue must not show a verdict that ignores the evidence.
 * The same log sent twice changes nothing (issue 11.11), and a failing verdict keeps its
 * warnings.
 */
import { CodeScanService, EventBus, policyEvaluator } from '../../../src/intake';
import type { CodeScanUpload } from '../../../src/intake/code-scans';
import type { Principal } from '../../../src/lib/identity/types';
import { policyConfigSchema } from '../../../src/policy';
import type { CodeScan } from '../../../src/scanners';
import type { CodeScanStore } from '../../../src/store/types';
import { awaiting, finding, MemoryRequestStore, report } from './fakes';

const dev: Principal = { name: 'dev', roles: ['developer'], teams: ['payments'] };

class MemoryLogs implements CodeScanStore {
  readonly logs = new Map<string, Buffer>();
  async putUpload(id: string, sha: string, log: Buffer): Promise<boolean> {
    if (this.logs.has(`${id}/${sha}`)) return false;
    this.logs.set(`${id}/${sha}`, log);
    return true;
  }
  async getUpload(id: string, sha: string): Promise<Buffer | null> { return this.logs.get(`${id}/${sha}`) ?? null; }
  async deleteUpload(id: string, sha: string): Promise<void> { this.logs.delete(`${id}/${sha}`); }
}

const sqlInjection: CodeScan = {
  tool: 'CodeQL', findings: [finding({ id: 'js/sql-injection', aliases: [], kind: 'code', severity: 'critical', fixedVersion: undefined, package: undefined, title: 'query built from user input' })],
};
const upload = (scans: CodeScan[], text = JSON.stringify(scans)): CodeScanUpload => ({ scans, log: Buffer.from(text) });
const rootUser = finding({ id: 'CIS-4.1-ROOT-USER', aliases: [], kind: 'misconfiguration', severity: 'medium', title: 'runs as root', package: undefined, fixedVersion: undefined });

describe('code-scan evidence and the verdict', () => {
  const policy = policyEvaluator(policyConfigSchema.parse({}));

  it('re-evaluates a request awaiting approval: a critical code finding fails it and is named as blocking', async () => {
    const requests = new MemoryRequestStore();
    await requests.create(awaiting({ scans: [report([])], policy: { verdict: 'pass', reasons: [], blocking: [] } }));
    const { request } = await new CodeScanService({ requests, details: new MemoryLogs(), events: new EventBus(), policy }).attach(dev, 'r1', upload([sqlInjection]));
    expect(request.policy).toMatchObject({ verdict: 'fail', blocking: ['js/sql-injection'] });
    expect((await requests.get('r1'))?.policy?.verdict).toBe('fail');
  });

  it('leaves a request without a verdict yet (before scanning) to the scan step', async () => {
    const requests = new MemoryRequestStore();
    await requests.create(awaiting({ status: 'staging', scans: [], policy: null }));
    const { request } = await new CodeScanService({ requests, details: new MemoryLogs(), events: new EventBus(), policy }).attach(dev, 'r1', upload([sqlInjection]));
    expect(request.policy).toBeNull();
    expect(request.codeScans).toHaveLength(1);
  });

  it('takes the same log twice as one: no second entry, reason or event, and says it was already attached', async () => {
    const requests = new MemoryRequestStore();
    await requests.create(awaiting({ scans: [report([])], policy: { verdict: 'pass', reasons: [], blocking: [] } }));
    const events = new EventBus();
    const seen: string[] = [];
    events.subscribe(async (e) => { seen.push(e.type); });
    const logs = new MemoryLogs();
    const svc = new CodeScanService({ requests, details: logs, events, policy });
    const first = await svc.attach(dev, 'r1', upload([sqlInjection]));
    const again = await svc.attach(dev, 'r1', upload([sqlInjection]));
    expect(first.upload.alreadyAttached).toBe(false);
    expect(again.upload).toMatchObject({ alreadyAttached: true, sha256: first.upload.sha256 });
    expect(again.added).toEqual([]);
    const stored = await requests.get('r1');
    expect(stored?.codeScans).toHaveLength(1);
    expect(stored?.policy?.reasons).toEqual(['critical code js/sql-injection: query built from user input']);
    expect(seen).toEqual(['code_scan.attached']);
    expect(logs.logs.size).toBe(1);
  });

  it('two different logs reporting the same finding give one reason, not two', async () => {
    const requests = new MemoryRequestStore();
    await requests.create(awaiting({ scans: [report([])], policy: { verdict: 'pass', reasons: [], blocking: [] } }));
    const svc = new CodeScanService({ requests, details: new MemoryLogs(), events: new EventBus(), policy });
    await svc.attach(dev, 'r1', upload([sqlInjection], 'first log'));
    const { request } = await svc.attach(dev, 'r1', upload([sqlInjection], 'second log, same finding'));
    expect(request.codeScans).toHaveLength(2);
    expect(request.policy?.reasons).toEqual(['critical code js/sql-injection: query built from user input']);
  });

  it('a failing verdict keeps the warnings a passing one would show ("runs as root")', async () => {
    const requests = new MemoryRequestStore();
    const before = policy({ request: awaiting(), reports: [report([rootUser])] });
    expect(before).toMatchObject({ verdict: 'warn', reasons: ['medium misconfiguration CIS-4.1-ROOT-USER: runs as root'] });
    await requests.create(awaiting({ scans: [report([rootUser])], policy: before }));
    const { request } = await new CodeScanService({ requests, details: new MemoryLogs(), events: new EventBus(), policy }).attach(dev, 'r1', upload([sqlInjection]));
    expect(request.policy).toEqual({
      verdict: 'fail',
      reasons: ['critical code js/sql-injection: query built from user input', 'warning: medium misconfiguration CIS-4.1-ROOT-USER: runs as root'],
      blocking: ['js/sql-injection'],
    });
  });
});
