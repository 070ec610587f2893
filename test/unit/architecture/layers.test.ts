/**
 * The layering rules of ARCHITECTURE.md, as written in .dependency-cruiser.js, hold for src/,
 * queue/, bench/ and scripts/: no cycles, lib imports no module, modules used through their
 * public surface, api → intake → {registry, scanners, policy, store, audit}, queue → intake.
 */
import { execFileSync } from 'node:child_process';
import path from 'node:path';

const root = path.resolve(__dirname, '../../..');
const depcruise = path.join(root, 'node_modules/dependency-cruiser/bin/dependency-cruise.mjs');

describe('layering', () => {
  it('has no dependency-cruiser violation', () => {
    let out = '';
    try {
      out = execFileSync(process.execPath, [depcruise, 'src', 'queue', 'bench', 'scripts', '--config', '.dependency-cruiser.js', '--output-type', 'err'], { cwd: root, encoding: 'utf8' });
    } catch (err) {
      const e = err as { stdout?: string; stderr?: string };
      throw new Error(`dependency rules broken (see .dependency-cruiser.js and ARCHITECTURE.md):\n${e.stdout ?? ''}${e.stderr ?? ''}`);
    }
    expect(out).toMatch(/no dependency violations found \(\d{3,} modules/);
  });
});
