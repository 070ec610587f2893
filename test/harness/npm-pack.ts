/**
 * A real npm package as image-layer files: the tarball `npm pack <name>@<version>` fetched from
 * the npm registry, kept in test/fixtures/packages/npm (tests read no network), and
 * its `package/` folder becomes the files of `node_modules/<name>` as `npm install` lays them.
 */
import { execFileSync } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { walk } from './debian-package';

const PACKAGES = path.resolve(__dirname, '../fixtures/packages/npm');

/** The packed files of `spec` (`lodash@4.17.20`) under `into` (`app/node_modules/lodash`). */
export function npmPack(spec: string, into: string): Record<string, Buffer> {
  const dir = mkdtempSync(path.join(os.tmpdir(), 'pcs-npm-pack-'));
  const at = spec.lastIndexOf('@');
  const tarball = path.join(PACKAGES, `${spec.slice(0, at)}-${spec.slice(at + 1)}.tgz`);
  if (!existsSync(tarball)) throw new Error(`no ${tarball}: fetch it with \`npm pack ${spec}\` there`);
  execFileSync('tar', ['-xzf', tarball, '-C', dir]);
  const root = path.join(dir, 'package');
  const files: Record<string, Buffer> = {};
  for (const rel of walk(root)) files[`${into}/${rel}`] = readFileSync(path.join(root, rel));
  return files;
}
