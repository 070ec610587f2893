/**
 * `config/default.yaml` and the README's configuration table, generated from the one config
 * schema (src/lib/config-schema.ts): every key with its `.describe()` text and its zod default.
 * `npm run docs:config` writes them; a test fails while the committed files differ.
 */
import YAML from 'yaml';
import type { z } from 'zod';
import { configSchema } from '../src/lib/config-schema';

type Def = Record<string, unknown> & { type: string };
const defOf = (s: z.ZodType): Def => (s as unknown as { _zod: { def: Def } })._zod.def;
const descriptionOf = (s: z.ZodType): string | undefined => (s as unknown as { description?: string }).description;

/** One documented key: a leaf, a list, or a map (what it holds is documented through its own keys). */
export interface ConfigKey {
  path: string;
  description: string | undefined;
  /** `{ value }` when the schema has a default; `required` when it must be given; `unset` when optional. */
  default: { value: unknown } | 'required' | 'unset' | `required with \`${string}\``;
  /** The discriminator value of the union option it belongs to (`clair`), when it is not shared. */
  variant?: string;
}

/** The schema under defaults, optionals and pipes. */
function unwrap(schema: z.ZodType): Def {
  let d = defOf(schema);
  while (['default', 'prefault', 'optional', 'nullable', 'readonly', 'catch', 'pipe'].includes(d.type)) d = defOf((d.type === 'pipe' ? d.in : d.innerType) as z.ZodType);
  return d;
}

interface Walk { description?: string; default?: { value: unknown }; optional?: boolean; variant?: string; within?: string }

function walk(schema: z.ZodType, path: string, w: Walk, out: ConfigKey[]): void {
  const def = defOf(schema);
  const at: Walk = { ...w, description: w.description ?? descriptionOf(schema) };
  switch (def.type) {
    case 'default': case 'prefault': {
      const value = typeof def.defaultValue === 'function' ? (def.defaultValue as () => unknown)() : def.defaultValue;
      // A section's `prefault({})` fills its keys' own defaults; it is not a default of its own.
      const isSection = unwrap(def.innerType as z.ZodType).type === 'object';
      return walk(def.innerType as z.ZodType, path, { ...at, ...(at.default || isSection ? {} : { default: { value } }) }, out);
    }
    case 'optional': case 'nullable': case 'readonly': case 'catch':
      return walk(def.innerType as z.ZodType, path, { ...at, optional: true }, out);
    case 'pipe':
      return walk(def.in as z.ZodType, path, at, out);
    case 'object': {
      // The keys of an optional section are required only when the section is given.
      const within = at.optional && !at.default ? path : at.within;
      for (const [k, v] of Object.entries(def.shape as Record<string, z.ZodType>)) {
        walk(v, path ? `${path}.${k}` : k, { variant: at.variant, ...(within ? { within } : {}) }, out);
      }
      return;
    }
    case 'union': {
      const disc = def.discriminator as string | undefined;
      // A choice of scalars (`auto` or a number) is one key.
      if (!(def.options as z.ZodType[]).some((o) => defOf(o).type === 'object')) return push(path, at, out);
      for (const option of def.options as z.ZodType[]) {
        const literal = disc ? (defOf((defOf(option).shape as Record<string, z.ZodType>)[disc]).values as unknown[] | undefined)?.[0] : undefined;
        if (defOf(option).type === 'object') walk(option, path, { variant: literal === undefined ? undefined : String(literal) }, out);
        else push(path, at, out);
      }
      return;
    }
    case 'array': {
      push(path, at, out);
      const element = def.element as z.ZodType;
      if (['object', 'union'].includes(defOf(element).type)) walk(element, `${path}[]`, { variant: at.variant }, out);
      return;
    }
    default:
      push(path, at, out);
  }
}

function push(path: string, w: Walk, out: ConfigKey[]): void {
  const required = w.within ? `required with \`${w.within}\`` as const : 'required' as const;
  out.push({ path, description: w.description, default: w.default ?? (w.optional ? 'unset' : required), ...(w.variant ? { variant: w.variant } : {}) });
}

/** Every key of the schema, in schema order; a key of several union options once per option. */
export function configKeys(): ConfigKey[] {
  const out: ConfigKey[] = [];
  walk(configSchema, '', {}, out);
  return out;
}

const inline = (v: unknown): string => YAML.stringify(v, { collectionStyle: 'flow', lineWidth: 0 }).trim();

function defaultCell(keys: ConfigKey[]): string {
  const shown = keys.map((k) => {
    if (typeof k.default !== 'object') return k.default;
    const text = inline(k.default.value);
    return text.length > 60 ? 'see `config/default.yaml`' : `\`${text}\``;
  });
  const distinct = [...new Set(shown)];
  if (distinct.length === 1) return distinct[0] + (keys.length < 2 && keys[0].variant ? ` (${keys[0].variant})` : '');
  return keys.map((k, i) => `${shown[i]} (${k.variant ?? 'all'})`).join(', ');
}

/** The README's table: one row per key (a key shared by union options once, its defaults per option). */
export function readmeTable(): string {
  const rows = new Map<string, ConfigKey[]>();
  for (const k of configKeys()) rows.set(k.path, [...(rows.get(k.path) ?? []), k]);
  const lines = ['| key | default | meaning |', '|---|---|---|'];
  for (const [path, keys] of rows) {
    const description = keys.find((k) => k.description)?.description ?? '';
    lines.push(`| \`${path}\` | ${defaultCell(keys).replace(/\|/g, '\\|')} | ${description.replace(/\|/g, '\\|')} |`);
  }
  return lines.join('\n');
}

const HEADER = `# Portcullis defaults, generated from src/lib/config-schema.ts by \`npm run docs:config\`: do not
# edit (a test fails while this file and the schema differ). Every key is here with its default
# and what it does; a key without a default is commented out.
# Overlay your own file with PORTCULLIS_CONFIG=/path/to/file.yaml: objects merge key by key,
# lists replace. Unknown keys and wrong types stop the process with a one-line message.
# Secrets come from the environment, never from a file in git (see the README's Configuration).
`;

const comment = (text: string, indent: string): string => text.split('\n').map((l) => `${indent}# ${l}`).join('\n');

/** The YAML of one object schema's keys at `indent`. */
function yamlOf(schema: z.ZodType, indent: string, prefix: string, commented = false): string[] {
  const hash = commented ? '# ' : '';
  let s = schema;
  for (;;) {
    const d = defOf(s);
    if (['default', 'prefault', 'optional', 'nullable', 'readonly'].includes(d.type)) s = d.innerType as z.ZodType;
    else if (d.type === 'pipe') s = d.in as z.ZodType;
    else break;
  }
  const lines: string[] = [];
  for (const [key, child] of Object.entries(defOf(s).shape as Record<string, z.ZodType>)) {
    const path = prefix ? `${prefix}.${key}` : key;
    const leaf = configKeys().find((k) => k.path === path);
    const text = leaf?.description ?? descriptionOf(child);
    if (indent === '' && lines.length > 0) lines.push('');
    if (text) lines.push(comment(text, indent));
    let inner = child;
    let optional = false;
    while (['default', 'prefault', 'optional', 'nullable', 'readonly', 'pipe'].includes(defOf(inner).type)) {
      if (defOf(inner).type === 'optional') optional = true;
      inner = (defOf(inner).innerType ?? defOf(inner).in) as z.ZodType;
    }
    if (defOf(inner).type === 'object') {
      // An optional section (auth.oidc) is off unless given: shown commented out, with what it would hold.
      lines.push(`${indent}${commented || optional ? '# ' : ''}${key}:${optional && !commented ? ' (unset: everything below is off)' : ''}`, ...yamlOf(child, `${indent}  `, path, commented || optional));
      continue;
    }
    if (!leaf || typeof leaf.default !== 'object') {
      lines.push(`${indent}# ${key}: (${leaf?.default ?? 'unset'})`);
      continue;
    }
    const value = leaf.default.value;
    const flow = inline(value);
    if (flow.length <= 80) lines.push(`${indent}${hash}${key}: ${flow}`);
    else lines.push(`${indent}${hash}${key}:`, ...YAML.stringify(value).trimEnd().split('\n').map((l) => `${indent}${hash}  ${l}`));
  }
  return lines;
}

export function defaultYaml(): string {
  return `${HEADER}\n${yamlOf(configSchema, '', '').join('\n')}\n`;
}

export const TABLE_START = '<!-- config-table: generated by `npm run docs:config` from src/lib/config-schema.ts -->';
export const TABLE_END = '<!-- /config-table -->';

/** `readme` with its generated table replaced by the current one. */
export function withTable(readme: string): string {
  const start = readme.indexOf(TABLE_START);
  const end = readme.indexOf(TABLE_END);
  if (start < 0 || end < start) throw new Error(`README.md has no ${TABLE_START} … ${TABLE_END} block`);
  return `${readme.slice(0, start)}${TABLE_START}\n${readmeTable()}\n${readme.slice(end)}`;
}
