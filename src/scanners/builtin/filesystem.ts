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

/**
 * The kept paths as a tree of path segments, so that a whiteout finds what it hides by walking
 * its own path, not by testing every kept path and each of its parents: a few thousand
 * whiteout-only layers over a thousand paths a thousand directories deep cost ~4 s each that
 * way. Keyed by segment, never by a directory's full path, so that a deep path costs memory in
 * proportion to its length, not its length squared.
 */
interface PathNode {
  children?: Map<string, PathNode>;
  /** Set when this node is a kept path: the path, as `files` holds it. */
  path?: string;
}

export class MergedFilesystem {
  private readonly files = new Map<string, PathFacts>();
  private readonly root: PathNode = {};

  has(path: string): boolean {
    return this.files.has(path);
  }

  /**
   * Applies one layer on top of the layers applied before it. What the layer's whiteouts, opaque
   * directories and replaced paths hide goes first (in proportion to what they hide), then the
   * layer's own files are laid on top.
   */
  apply(changes: LayerChanges): void {
    for (const path of changes.whiteouts) this.remove(path, true);
    for (const path of changes.replaced) this.remove(path, true);
    // An opaque directory hides what lower layers put under it, not the directory itself.
    for (const dir of changes.opaqueDirs) this.remove(dir, false);
    for (const [path, facts] of changes.facts) {
      this.files.set(path, facts);
      this.node(path, true)!.path = path;
    }
  }

  entries(): IterableIterator<[string, PathFacts]> {
    return this.files.entries();
  }

  get(path: string): PathFacts | undefined {
    return this.files.get(path);
  }

  /** The node of `path`; created (with its parents) when `create`, else undefined if none. */
  private node(path: string, create: boolean): PathNode | undefined {
    let node = this.root;
    for (const segment of path.split('/')) {
      let next = node.children?.get(segment);
      if (!next) {
        if (!create) return undefined;
        next = {};
        (node.children ??= new Map()).set(segment, next);
      }
      node = next;
    }
    return node;
  }

  /** Forgets every kept path under `path`, and `path` itself when `self`. */
  private remove(path: string, self: boolean): void {
    const node = this.node(path, false);
    if (!node) return;
    if (self && node.path !== undefined) {
      this.files.delete(node.path);
      node.path = undefined;
    }
    // Iterative: a path may be thousands of directories deep.
    const stack = node.children ? [...node.children.values()] : [];
    node.children = undefined;
    for (let n = stack.pop(); n; n = stack.pop()) {
      if (n.path !== undefined) this.files.delete(n.path);
      if (n.children) for (const c of n.children.values()) stack.push(c);
    }
  }
}
