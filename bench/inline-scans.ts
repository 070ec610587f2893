/**
 * Bench-only preload (bench:pipeline, a BENCH_BUILDS entry `<checkout>+inline`): the worker's
 * builtin scans run on its event loop, as they did before the scan threads (issue 17.2), so
 * that one build compares with and without them on the same images in the same session. Not a
 * product mode: here a runaway scan takes the whole process down, and scans use one core per
 * process. Loaded with `node --require` before the service's own code; it replaces the pool's
 * methods on the one module instance the service then uses.
 */
import { PassThrough, pipeline } from 'node:stream';
import { inventoryImage, ScanThreadPool } from '../src/scanners';

ScanThreadPool.prototype.inventory = async function inventory(task, open) {
  const inventory = await inventoryImage(task, (i) => {
    // inventoryImage opens a layer only once the previous one is read, as the thread does.
    const out = new PassThrough();
    open(i).then((blob) => pipeline(blob, out, () => undefined), (err: Error) => out.destroy(err));
    return out;
  });
  return { inventory, budget: task.budget };
};
ScanThreadPool.prototype.warm = async function warm() { /* no threads */ };
