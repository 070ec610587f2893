/**
 * Repository names in the internal registry. A registry host may carry a port
 * (`localhost:5000`), which is not allowed in a repository path: the colon becomes `_`
 * (a legal separator in distribution's grammar), and the host is lowercased.
 */
import type { SourceRef } from '../store/types';

export function hostComponent(registry: string): string {
  return registry.toLowerCase().replace(/[:[\]]/g, '_').replace(/_+/g, '_').replace(/^_|_$/g, '');
}

export function quarantineRepository(prefix: string, src: SourceRef): string {
  return `${prefix}/${hostComponent(src.registry)}/${src.repository}`;
}

export function approvedRepository(template: string, team: string, src: SourceRef): string {
  return template
    .replaceAll('{team}', team)
    .replaceAll('{registry}', hostComponent(src.registry))
    .replaceAll('{repository}', src.repository);
}

/** Longest tag the distribution spec allows (`[a-zA-Z0-9_][a-zA-Z0-9._-]{0,127}`). */
const MAX_TAG = 128;

/**
 * The tag written at promotion: the source tag, or `digest-<hex>` for a digest-only request
 * (`digest-sha512-<hex…>` for another algorithm, cut to the longest tag allowed).
 *
 * Not `sha256-<hex>`: that is the referrers tag schema's tag (distribution spec 1.1) under
 * which the SBOM referrer of the same digest is listed on a registry without the referrers
 * API (docker-registry 2.8), and the two would overwrite each other. Approvals made before
 * this change keep their `sha256-<hex>` tag (the ledger's `internalTag`); every lookup goes by
 * digest, so nothing else depends on the name.
 */
export function approvedTag(src: SourceRef, digest: string): string {
  if (src.tag) return src.tag;
  const colon = digest.indexOf(':');
  const alg = digest.slice(0, colon);
  const hex = digest.slice(colon + 1);
  return (alg === 'sha256' ? `digest-${hex}` : `digest-${alg}-${hex}`).slice(0, MAX_TAG);
}

export function sourceName(src: SourceRef): string {
  return `${src.registry}/${src.repository}`;
}
