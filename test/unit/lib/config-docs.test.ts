/** config/default.yaml and the README's configuration table are generated from the schema and committed as generated. */
import { readFileSync } from 'node:fs';
import path from 'node:path';
import { configKeys, defaultYaml, readmeTable, withTable } from '../../../scripts/docs-config-gen';

const root = path.resolve(__dirname, '../../..');
const HINT = 'differs from the config schema (src/lib/config-schema.ts): run `npm run docs:config` and commit the result';

describe('configuration documents', () => {
  it('describes every key in the schema', () => {
    const undescribed = configKeys().filter((k) => !k.description).map((k) => k.path);
    expect(undescribed).toEqual([]);
    expect(configKeys().length).toBeGreaterThan(100);
  });

  it('config/default.yaml is the generated one', () => {
    const committed = readFileSync(path.join(root, 'config/default.yaml'), 'utf8');
    if (committed !== defaultYaml()) throw new Error(`config/default.yaml ${HINT}`);
  });

  it("the README's configuration table is the generated one", () => {
    const readme = readFileSync(path.join(root, 'README.md'), 'utf8');
    if (readme !== withTable(readme)) throw new Error(`README.md's configuration table ${HINT}`);
    expect(readmeTable().split('\n').length).toBeGreaterThan(100);
  });
});
