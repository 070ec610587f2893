/**
 * A real npm package as image-layer files: `npm pack <name>@<version>` fetches the tarball the
 * registry serves (CI reaches the npm registry as `npm ci` does; npm's cache keeps it), and
 * its `package/` folder becomes the files of `node_modules/<name>` as `npm install` lays them.
 */
import { execFileSync } from 'node:child_process';
import { lstatSync, mkdtempSync, readdirSync, readFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';

function walk(root: string, dir = root, out: string[] = []): string[] {
  for (const entry of readdirSync(dir)) {
    const full = path.join(dir, entry);
    const st = lstatSync(full);
    if (st.isDirectory()) walk(root, full, out);
    else if (st.isFile()) out.push(path.relative(root, full));
  }
  return out;
}

/** The packed files of `spec` (`lodash@4.17.20`) under `into` (`app/node_modules/lodash`). */
export function npmPack(spec: string, into: string): Record<string, Buffer> {
  const dir = mkdtempSync(path.join(os.tmpdir(), 'pcs-npm-pack-'));
  const out = execFileSync('npm', ['pack', spec, '--json', '--pack-destination', dir], { cwd: dir, encoding: 'utf8', stdio: ['ignore', 'pipe', 'pipe'] });
  const [{ filename }] = JSON.parse(out) as Array<{ filename: string }>;
  execFileSync('tar', ['-xzf', path.join(dir, path.basename(filename)), '-C', dir]);
  const root = path.join(dir, 'package');
  const files: Record<string, Buffer> = {};
  for (const rel of walk(root)) files[`${into}/${rel}`] = readFileSync(path.join(root, rel));
  return files;
}
