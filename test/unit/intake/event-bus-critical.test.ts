/**
 * Which subscriber failures fail a `required` publish (src/intake/events.ts): a `critical` one
 * (the audit log) for every event, a `criticalFor` one only for the listed types; the error
 * names the audit log only when it was the audit log that failed.
 */
import { EventBus, type DomainEvent, type EventHandler } from '../../../src/intake/events';
import { isAppError } from '../../../src/lib/errors';

const event = (type: string): DomainEvent => ({ type, actor: 'system', target: 'approval/payments/sha256:ab', details: {} });
const failing = (extra: Partial<Pick<EventHandler, 'critical' | 'criticalFor' | 'role'>>): EventHandler =>
  Object.assign(() => { throw new Error('down'); }, extra);

describe('EventBus required publish', () => {
  it('a criticalFor subscriber fails only the listed types, and only when required; its role is named', async () => {
    const bus = new EventBus();
    const calls: string[] = [];
    bus.subscribe((e) => { calls.push(e.type); });
    bus.subscribe(failing({ criticalFor: ['findings.updated'], role: 'approval health re-evaluation' }));
    await expect(bus.publish(event('request.status_changed'), { required: true })).resolves.toBeUndefined();
    await expect(bus.publish(event('findings.updated'))).resolves.toBeUndefined();
    const err: unknown = await bus.publish(event('findings.updated'), { required: true }).then(() => null, (e: unknown) => e);
    expect(isAppError(err) && [err.code, err.message]).toEqual(['DEPENDENCY_UNAVAILABLE', 'approval health re-evaluation failed on findings.updated of approval/payments/sha256:ab']);
    // The other subscribers still heard every event.
    expect(calls).toEqual(['request.status_changed', 'findings.updated', 'findings.updated']);
  });

  it('the audit log failing keeps its message, also when a criticalFor subscriber failed too', async () => {
    const bus = new EventBus();
    bus.subscribe(failing({ critical: true }));
    bus.subscribe(failing({ criticalFor: ['findings.updated'], role: 'approval health re-evaluation' }));
    await expect(bus.publish(event('findings.updated'), { required: true })).rejects.toThrow('the audit log could not record findings.updated of approval/payments/sha256:ab');
    await expect(bus.publish(event('request.decided'), { required: true })).rejects.toThrow('the audit log could not record request.decided');
  });

  it('a subscriber neither critical nor critical for the type never fails a publish', async () => {
    const bus = new EventBus();
    bus.subscribe(failing({ role: 'webhooks' }));
    await expect(bus.publish(event('findings.updated'), { required: true })).resolves.toBeUndefined();
  });
});
