/**
 * Where the real-world corpus is: `../shared/realworld` beside the checkout (CI), or beside
 * the main checkout when the tests run in a git worktree. Read-only: copy what a test changes.
 */
import { execFileSync } from 'node:child_process';
import { existsSync } from 'node:fs';
import path from 'node:path';

const repoRoot = path.resolve(__dirname, '../..');

export function realworld(...parts: string[]): string {
  const beside = path.resolve(repoRoot, '../shared/realworld');
  if (existsSync(beside)) return path.join(beside, ...parts);
  const common = execFileSync('git', ['rev-parse', '--path-format=absolute', '--git-common-dir'], { cwd: repoRoot, encoding: 'utf8' }).trim();
  const main = path.resolve(common, '../../shared/realworld');
  if (existsSync(main)) return path.join(main, ...parts);
  throw new Error(`real-world data not found at ${beside} or ${main}`);
}
