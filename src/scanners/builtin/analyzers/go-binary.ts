/**
 * Go executables as path facts: which files are worth streaming through the build-info
 * search, and what a found build info records (the `stdlib` and module packages in the `Go`
 * ecosystem, and the Go version for coverage).
 */
import type { Finding } from '../../types';
import type { MergedFilesystem, PathFacts } from '../filesystem';
import { goPackages, type GoBuildInfo } from './go-buildinfo';

export const UNSCANNED_GO_BINARY = 'PORTCULLIS-UNSCANNED-GO-BINARY';

/** Smaller than any linked Go program (a hello world is over 1 MB); skips scripts and stubs. */
const MIN_GO_BINARY = 512 * 1024;

/** Whether a regular file may be a Go program: an execute bit and the size of one. */
export function isExecutable(mode: number | undefined, size: number): boolean {
  return ((mode ?? 0) & 0o111) !== 0 && size >= MIN_GO_BINARY;
}

export function goBinaryFacts(info: GoBuildInfo | null): Partial<PathFacts> {
  if (!info) return {};
  return { kind: 'go-binary', packages: goPackages(info), goVersion: info.goVersion ?? 'unknown' };
}

/** A Go executable whose build info has no readable version (Go < 1.18) was not checked: said, not passed. */
export function goCoverageFindings(fs: MergedFilesystem): Finding[] {
  const out: Finding[] = [];
  for (const [path, facts] of fs.entries()) {
    if (facts.kind !== 'go-binary' || (facts.packages?.length ?? 0) > 0) continue;
    out.push({
      id: UNSCANNED_GO_BINARY,
      aliases: [],
      kind: 'coverage',
      severity: 'unknown',
      title: `Go executable /${path} has no readable build info (built before Go 1.18 or a development build): its modules were not checked`,
      links: [],
      path: `/${path}`,
      layer: facts.layer,
    });
  }
  return out;
}
