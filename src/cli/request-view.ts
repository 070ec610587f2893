/** How the CLI prints a request: the facts a developer or approver acts on, one per line. */

export interface RequestView {
  id: string;
  image: string;
  team: string;
  status: string;
  requestedBy?: string;
  source?: { digest?: string };
  /** The request's identity once staged, when it differs from the upstream digest (platform selection, engine mover). */
  stagedDigest?: string | null;
  internalRef?: string | null;
  policy?: { verdict: string; reasons: string[]; blocking?: string[] } | null;
  scans?: Array<{ scanner: string; status: string; summary: Record<string, number> }>;
  error?: { code: string; message: string } | null;
}

export function formatRequest(r: RequestView): string {
  const lines = [
    `id:        ${r.id}`,
    `image:     ${r.image} (team ${r.team}${r.requestedBy ? `, by ${r.requestedBy}` : ''})`,
    `status:    ${r.status}`,
  ];
  if (r.source?.digest) lines.push(`digest:    ${r.source.digest}`);
  if (r.stagedDigest && r.stagedDigest !== r.source?.digest) lines.push(`staged:    ${r.stagedDigest} (the identity scanned and approved)`);
  for (const s of r.scans ?? []) {
    const counts = ['critical', 'high', 'medium', 'low', 'unknown'].map((k) => `${s.summary[k] ?? 0} ${k}`).join(', ');
    lines.push(`scan:      ${s.scanner} ${s.status}: ${counts}`);
  }
  if (r.policy) {
    lines.push(`policy:    ${r.policy.verdict}`);
    for (const reason of r.policy.reasons) lines.push(`           - ${reason}`);
  }
  if (r.internalRef) lines.push(`approved:  ${r.internalRef}`);
  if (r.error) lines.push(`error:     ${r.error.code}: ${r.error.message}`);
  return `${lines.join('\n')}\n`;
}

export function printRequest(r: RequestView): void {
  process.stdout.write(formatRequest(r));
}
