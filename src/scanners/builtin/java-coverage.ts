/** What the Java archive reader could not check (./analyzers/java-archive.ts), as coverage findings. */
import type { Finding } from '../types';
import type { MergedFilesystem } from './filesystem';

export const UNSCANNED_JAVA_ARCHIVE = 'PORTCULLIS-UNSCANNED-JAVA-ARCHIVE';

/**
 * A Java archive the reader refused (overlapping zip entries, over its budget, over the read cap:
 * `PathFacts.unreadable`) was not checked: said, not passed.
 */
export function javaCoverageFindings(fs: MergedFilesystem): Finding[] {
  const out: Finding[] = [];
  for (const [path, facts] of fs.entries()) {
    if (facts.kind !== 'java-archive' || !facts.unreadable) continue;
    out.push({
      id: UNSCANNED_JAVA_ARCHIVE, aliases: [], kind: 'coverage', severity: 'unknown',
      title: `Java archive /${path} could not be read (${facts.unreadable.slice(0, 200)}): its libraries were not checked`,
      links: [], path: `/${path}`, layer: facts.layer,
    });
  }
  return out;
}
