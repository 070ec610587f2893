/**
 * Which files the OS package manager owns, from its own file lists: dpkg's
 * `/var/lib/dpkg/info/<package>.list` (one absolute path per line) and apk's installed
 * database (`F:` directory lines, each followed by its `R:` file lines). Only paths that are
 * language-package metadata are kept (Python `*.dist-info/METADATA`, `*.egg-info[/PKG-INFO]`,
 * `node_modules/<pkg>/package.json`): those are what the scanner would otherwise report as
 * PyPI or npm packages, and keeping every owned path would cost memory for nothing.
 */
import { NPM_MANIFEST } from './npm';
import { PYTHON_METADATA } from './python';

/** Normalized (no leading `/`) when `path` is language-package metadata, else null. */
function metadataPath(path: string): string | null {
  const p = path.trim().replace(/^\/+/, '');
  return p && (PYTHON_METADATA.test(p) || NPM_MANIFEST.test(p)) ? p : null;
}

export function parseDpkgList(text: string): string[] {
  const out: string[] = [];
  for (const line of text.split('\n')) {
    const p = metadataPath(line);
    if (p) out.push(p);
  }
  return out;
}

export function apkOwnedFiles(text: string): string[] {
  const out: string[] = [];
  let dir = '';
  for (const line of text.split('\n')) {
    if (line.startsWith('F:')) dir = line.slice(2).trim();
    else if (line.startsWith('R:')) {
      const p = metadataPath(dir ? `${dir}/${line.slice(2).trim()}` : line.slice(2));
      if (p) out.push(p);
    } else if (line.trim() === '') dir = '';
  }
  return out;
}
