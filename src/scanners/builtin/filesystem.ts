/**
 * The merged view of the files the scanner cares about, built layer by layer the way an
 * overlay filesystem would: each layer's whiteouts (`.wh.<name>`) and opaque directories
 * (`.wh..wh..opq`) hide what lower layers put there, then the layer's own files are laid on
 * top. Only facts about interesting paths are kept, never file contents.
 */
import type { ParsedPackage } from './parsers/types';
import type { OsRelease } from './parsers/os-release';
import type { SecretMatch } from './secrets';
import type { FileKind } from './paths';

/** What is known about one path in the merged image. */
export interface PathFacts {
  /** Digest of the layer that last wrote the path. */
  layer: string;
  kind?: FileKind;
  packages?: ParsedPackage[];
  osRelease?: OsRelease;
  secret?: SecretMatch;
  /** Set for regular files with the setuid or setgid bit (tar header mode). */
  setuidMode?: number;
  /** Set for a Go executable: its Go version as embedded (`go1.19.8`), or `unknown` before Go 1.18. */
  goVersion?: string;
  /** Language-package metadata paths an OS package owns (dpkg `.list`, apk `R:`), normalized. */
  ownedPaths?: string[];
  /** A package database that is there but could not be read: why (a coverage finding says it). */
  unreadable?: string;
  /** Symlink target, kept only for os-release (Debian links /etc/os-release into /usr/lib). */
  symlinkTarget?: string;
}

/** One layer's changes, collected while its tar stream is read. */
export class LayerChanges {
  readonly whiteouts = new Set<string>();
  readonly opaqueDirs = new Set<string>();
  readonly facts = new Map<string, PathFacts>();
  /** Paths this layer rewrote with something the scanner does not track. */
  readonly replaced = new Set<string>();
  constructor(readonly layer: string) {}
}

function parentsOf(path: string): string[] {
  const out: string[] = [];
  let i = path.indexOf('/');
  while (i !== -1) {
    out.push(path.slice(0, i));
    i = path.indexOf('/', i + 1);
  }
  return out;
}

export class MergedFilesystem {
  private readonly files = new Map<string, PathFacts>();

  has(path: string): boolean {
    return this.files.has(path);
  }

  /** Applies one layer on top of the layers applied before it. */
  apply(changes: LayerChanges): void {
    if (changes.whiteouts.size > 0 || changes.opaqueDirs.size > 0 || changes.replaced.size > 0) {
      for (const path of [...this.files.keys()]) {
        const parents = parentsOf(path);
        const hidden =
          changes.whiteouts.has(path) ||
          changes.replaced.has(path) ||
          parents.some((p) => changes.whiteouts.has(p) || changes.opaqueDirs.has(p) || changes.replaced.has(p));
        if (hidden) this.files.delete(path);
      }
    }
    for (const [path, facts] of changes.facts) this.files.set(path, facts);
  }

  entries(): IterableIterator<[string, PathFacts]> {
    return this.files.entries();
  }

  get(path: string): PathFacts | undefined {
    return this.files.get(path);
  }
}
