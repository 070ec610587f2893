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

/** The tag written at promotion: the source tag, or `sha256-<hex>` for a digest-only request. */
export function approvedTag(src: SourceRef, digest: string): string {
  return src.tag ?? digest.replace(':', '-');
}

export function sourceName(src: SourceRef): string {
  return `${src.registry}/${src.repository}`;
}
