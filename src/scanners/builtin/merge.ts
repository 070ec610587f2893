/**
 * Merges the findings of the platform images of one index into one list, keeping which
 * platform each came from.
 *
 * The key is the advisory or check and where it was found: id, package, ecosystem, versions,
 * path and layer. Children of a multi-arch build share layers only when the layer is
 * byte-identical (an arch-independent `COPY`, a config-only check such as a root USER): such a
 * finding is one finding listing every platform that has it. A package built per
 * architecture lives in a different layer in each child, so it stays one finding per child,
 * each naming its own platform: a waiver or a reader can tell "arm64 only" from "everywhere".
 */
import type { Finding } from '../types';

export interface PlatformFindings {
  /** `os/arch[/variant]`; unset for a single-platform target. */
  platform?: string;
  findings: readonly Finding[];
}

function keyOf(f: Finding): string {
  return [f.id, f.package, f.ecosystem, f.installedVersion, f.fixedVersion, f.path, f.layer].map((v) => v ?? '').join('\u0000');
}

export function mergePlatformFindings(lists: readonly PlatformFindings[]): Finding[] {
  // One image (a plain manifest, or an index with one runnable child) has nothing to merge
  // with: its findings are returned as scanned.
  if (lists.length === 1 && lists[0]) {
    const { platform, findings } = lists[0];
    return findings.map((f) => (platform ? { ...f, platform } : f));
  }
  const merged = new Map<string, { finding: Finding; platforms: string[] }>();
  for (const { platform, findings } of lists) {
    for (const finding of findings) {
      const key = keyOf(finding);
      const seen = merged.get(key);
      if (!seen) merged.set(key, { finding, platforms: platform ? [platform] : [] });
      else if (platform && !seen.platforms.includes(platform)) seen.platforms.push(platform);
    }
  }
  return [...merged.values()].map(({ finding, platforms }) =>
    platforms.length > 0 ? { ...finding, platform: platforms.join(',') } : finding,
  );
}
