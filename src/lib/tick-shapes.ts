/**
 * Keeps the shape (hidden class) of node's `process.nextTick` objects alive for the life of the
 * process, so that every `nextTick` call keeps taking V8's fast path.
 *
 * Why: node 20 builds each tick as an object literal with computed keys
 * (`{ [async_id_symbol]: …, [trigger_async_id_symbol]: …, callback, args }`,
 * lib/internal/process/task_queues.js). V8 records the hidden class each of those keys is added
 * to, and goes MEGAMORPHIC for good at the first mismatch (Runtime_DefineKeyedOwnPropertyInLiteral
 * has no polymorphic state). The hidden classes after the first key are held only weakly (by the
 * transition tree and that feedback), so a full GC that runs while no tick is queued frees them;
 * the next tick builds new ones, the feedback goes megamorphic, and from then on every nextTick
 * (several per HTTPS request) defines its properties through the runtime instead of inline code.
 * Any long-lived process sees such a GC sooner or later; the webhook does within seconds of
 * loading its approved set (bench:admission found it: ~2.6% of the replica's CPU under load).
 * Holding one tick object holds its hidden class and, through its back pointers, the whole chain.
 *
 * The object held is a tick of a module-level function with no arguments: it keeps nothing else alive.
 */
import { createHook } from 'node:async_hooks';

/** The tick object, held for the life of the process: its being alive is the point. */
let held: object | null = null;
let asked = false;

const noop = (): void => undefined;

/**
 * Idempotent; call as early as possible in the process (before any full GC). The tick object is
 * taken from an async hook's `init`, enabled for that one nextTick only: not with
 * `executionAsyncResource()`, whose first call sets a process-wide flag for good that sends every
 * later native callback (each socket read, each HTTP parser event) through a JS trampoline.
 */
export function keepTickShapes(): void {
  if (asked) return;
  asked = true;
  const hook = createHook({
    init(_id, type, _trigger, resource) {
      if (type === 'TickObject' && held === null) held = resource;
    },
  });
  hook.enable();
  try {
    process.nextTick(noop);
  } finally {
    hook.disable();
  }
}

keepTickShapes();
