/** The README's configuration reference names every leaf key of the schema, so it cannot fall behind. */
import { readFileSync } from 'node:fs';
import path from 'node:path';
import type { z } from 'zod';
import { configSchema } from '../../../src/lib/config-schema';

function keysOf(schema: z.ZodType, prefix: string, out: string[]): string[] {
  const def = (schema as unknown as { _zod: { def: Record<string, unknown> & { type: string } } })._zod.def;
  switch (def.type) {
    case 'default': case 'prefault': case 'optional': case 'nullable': case 'readonly':
      return keysOf(def.innerType as z.ZodType, prefix, out);
    case 'pipe':
      return keysOf(def.in as z.ZodType, prefix, out);
    case 'array':
      return keysOf(def.element as z.ZodType, `${prefix}[]`, out);
    case 'union':
      for (const option of def.options as z.ZodType[]) keysOf(option, prefix, out);
      return out;
    case 'object':
      for (const [k, v] of Object.entries(def.shape as Record<string, z.ZodType>)) {
        const key = prefix ? `${prefix}.${k}` : k;
        // A section (an object) is documented through its keys; anything else by name.
        const before = out.length;
        keysOf(v, key, out);
        if (out.length === before && !out.includes(key)) out.push(key);
      }
      return out;
    default:
      return out;
  }
}

describe('README', () => {
  const readme = readFileSync(path.resolve(__dirname, '../../../README.md'), 'utf8');

  it('documents every configuration key', () => {
    const keys = keysOf(configSchema, '', []);
    expect(keys.length).toBeGreaterThan(20);
    const missing = keys.filter((k) => !readme.includes(`\`${k}\``) && !new RegExp('`' + k.replace(/[.[\]]/g, '\\$&') + '[,`]').test(readme));
    expect(missing).toEqual([]);
  });

  it('gives the two quick-start commands', () => {
    expect(readme).toContain('npm run stack');
    expect(readme).toContain('npm test');
  });
});
