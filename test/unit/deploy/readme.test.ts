/** The README gives the quick start (its configuration table is generated: see test/unit/lib/config-docs.test.ts). */
import { readFileSync } from 'node:fs';
import path from 'node:path';

describe('README', () => {
  const readme = readFileSync(path.resolve(__dirname, '../../../README.md'), 'utf8');

  it('gives the two quick-start commands', () => {
    expect(readme).toContain('npm run stack');
    expect(readme).toContain('npm test');
  });
});
