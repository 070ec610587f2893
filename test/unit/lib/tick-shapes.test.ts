import { runTs } from '../../harness/worker-process';

/** The IC states V8 recorded for the property definitions of nextTick's tick-object literal. */
async function tickLiteralFeedback(mode: 'held' | 'free'): Promise<string[]> {
  const p = runTs('test/unit/lib/tick-shapes-probe.ts', [mode]);
  expect(await p.exited).toBe(0);
  return [...p.output().matchAll(/DefineKeyedOwnPropertyInLiteral (\w+)/g)].map((m) => m[1]);
}

describe('keepTickShapes', () => {
  it('keeps nextTick on its fast path through a full GC that runs while no tick is queued', async () => {
    // The premise, on this node: without the held tick, such a GC sends the literal's feedback
    // megamorphic for good (if node or V8 change this, the workaround may be dropped).
    const free = await tickLiteralFeedback('free');
    expect(free).toHaveLength(4);
    expect(free).toContain('MEGAMORPHIC');
    const held = await tickLiteralFeedback('held');
    expect(held).toEqual(['MONOMORPHIC', 'MONOMORPHIC', 'MONOMORPHIC', 'MONOMORPHIC']);
  });
});
