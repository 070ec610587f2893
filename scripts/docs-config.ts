/**
 * `npm run docs:config`: writes config/default.yaml and the README's configuration table from
 * the config schema (see docs-config-gen.ts). `--check` writes nothing and exits 1 when either
 * file differs from what it would write.
 */
import { readFileSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { defaultYaml, withTable } from './docs-config-gen';

const root = path.resolve(__dirname, __dirname.split(path.sep).includes('dist') ? '../..' : '..');
const files = [
  { file: path.join(root, 'config/default.yaml'), make: () => defaultYaml() },
  { file: path.join(root, 'README.md'), make: () => withTable(readFileSync(path.join(root, 'README.md'), 'utf8')) },
];
const check = process.argv.includes('--check');
let stale = 0;
for (const { file, make } of files) {
  const want = make();
  if (readFileSync(file, 'utf8') === want) continue;
  stale++;
  if (check) process.stderr.write(`${path.relative(root, file)} differs from the config schema: run npm run docs:config\n`);
  else writeFileSync(file, want);
}
if (check && stale) process.exit(1);
