/**
 * Run by tick-shapes.test.ts as its own process (`held` or `free`): queues ticks, runs a full GC
 * while none is queued, queues ticks again, and prints V8's feedback of process.nextTick.
 */
import v8 from 'node:v8';
import vm from 'node:vm';

if (process.argv[2] === 'held') require('../../../src/lib/tick-shapes');
v8.setFlagsFromString('--allow-natives-syntax');
v8.setFlagsFromString('--expose-gc');
const gc = vm.runInNewContext('gc') as () => void;
const debugPrint = new Function('f', '%DebugPrint(f)') as (f: unknown) => void;
const noop = (): void => undefined;
// Enough calls for V8 to give nextTick a feedback vector.
const burst = (): void => { for (let i = 0; i < 2000; i += 1) process.nextTick(noop); };

burst();
setTimeout(() => {
  gc();
  setTimeout(() => {
    burst();
    setTimeout(() => debugPrint(process.nextTick), 10);
  }, 10);
}, 10);
