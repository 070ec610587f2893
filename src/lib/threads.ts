/**
 * Starting a node:worker_threads thread from a module of this program: the compiled `.js`
 * beside the caller when the service runs from `dist/`, or (when it runs from TypeScript
 * sources, as under jest) the `.ts` compiled on load with @swc/core, the compiler the test
 * runner uses. The scan threads (scanners/builtin/threads) and the step-lease keeper
 * (store/lease-keeper.ts) start this way.
 */
import { existsSync } from 'node:fs';
import path from 'node:path';
import { Worker, type WorkerOptions } from 'node:worker_threads';

/** Starts `dir/name.js`, or `dir/name.ts` through swc when there is no compiled file. */
export function startThread(dir: string, name: string, options: WorkerOptions = {}): Worker {
  const js = path.join(dir, `${name}.js`);
  if (existsSync(js)) return new Worker(js, options);
  const ts = path.join(dir, `${name}.ts`);
  const swc = require.resolve('@swc/core');
  const boot = `
const fs = require('node:fs');
const swc = require(${JSON.stringify(swc)});
require.extensions['.ts'] = (module, filename) => {
  const { code } = swc.transformSync(fs.readFileSync(filename, 'utf8'), {
    filename, module: { type: 'commonjs' }, jsc: { parser: { syntax: 'typescript' }, target: 'es2022' },
  });
  module._compile(code, filename);
};
require(${JSON.stringify(ts)});`;
  return new Worker(boot, { ...options, eval: true });
}
