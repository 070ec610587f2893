/**
 * npm packages: the `package.json` of each directory directly under a `node_modules`
 * (`node_modules/x/package.json`, `node_modules/@scope/x/package.json`); other package.json
 * files (tests, fixtures inside a package) are not installed packages.
 */
import { z } from 'zod';
import type { ParsedPackage } from './types';

export const NPM_MANIFEST = /(?:^|\/)node_modules\/(?:@[^/]+\/)?[^/@.][^/]*\/package\.json$/;

const manifestSchema = z.object({ name: z.string().min(1), version: z.string().min(1) });

export function parseNpmManifest(text: string): ParsedPackage[] {
  try {
    const parsed = manifestSchema.safeParse(JSON.parse(text));
    return parsed.success ? [{ name: parsed.data.name, version: parsed.data.version }] : [];
  } catch {
    return []; // a broken package.json is not an installed package
  }
}
