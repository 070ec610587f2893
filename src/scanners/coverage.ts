/**
 * Coverage findings: what a scanner could not check, said as a finding so the policy can fail
 * closed on it (`policy.coverage`). An image the scanner could not inventory, or a
 * vulnerability whose severity no one could score, must not pass as if it were clean.
 */
import type { Finding } from './types';

export const UNSCANNED_OS = 'PORTCULLIS-UNSCANNED-OS';
export const UNSCORED_SEVERITY = 'PORTCULLIS-UNSCORED-SEVERITY';

/** One coverage finding for an OS whose packages were not inventoried; `why` says what was missing. */
export function unscannedOs(why: string, path?: string, layer?: string): Finding {
  return {
    id: UNSCANNED_OS,
    aliases: [],
    kind: 'coverage',
    severity: 'unknown',
    title: `OS packages not scanned: ${why}`,
    links: [],
    ...(path ? { path } : {}),
    ...(layer ? { layer } : {}),
  };
}

/**
 * A coverage finding beside every vulnerability whose severity is `unknown` (no scorable CVSS
 * vector, no recognised label). It carries the advisory's id and aliases as its own aliases,
 * so a waiver of the advisory also accepts its unscored severity.
 */
export function unscoredSeverities(findings: readonly Finding[]): Finding[] {
  return findings
    .filter((f) => f.kind === 'vulnerability' && f.severity === 'unknown')
    .map((f) => ({
      // One per advisory: the id names the advisory, so merging and waivers tell them apart.
      id: `${UNSCORED_SEVERITY}:${f.id}`,
      aliases: [f.id, ...f.aliases],
      kind: 'coverage' as const,
      severity: 'unknown' as const,
      title: `severity of ${f.id} could not be determined`,
      links: f.links,
      ...(f.package !== undefined ? { package: f.package } : {}),
      ...(f.ecosystem !== undefined ? { ecosystem: f.ecosystem } : {}),
      ...(f.installedVersion !== undefined ? { installedVersion: f.installedVersion } : {}),
      ...(f.fixedVersion !== undefined ? { fixedVersion: f.fixedVersion } : {}),
      ...(f.path !== undefined ? { path: f.path } : {}),
      ...(f.layer !== undefined ? { layer: f.layer } : {}),
      ...(f.platform !== undefined ? { platform: f.platform } : {}),
    }));
}

/** `findings` plus their coverage findings: what every adapter returns. */
export function withCoverage(findings: readonly Finding[]): Finding[] {
  return [...findings, ...unscoredSeverities(findings)];
}
