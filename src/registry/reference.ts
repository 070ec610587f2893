/**
 * Image references parsed and normalized the way Docker does (distribution/reference,
 * `ParseNormalizedNamed`): `nginx` → `docker.io/library/nginx:latest`. The grammar is the
 * one in distribution's reference.go; anything outside it is an INVALID_REFERENCE.
 */
import { AppError } from '../lib/errors';

/** A parsed, normalized image reference. */
export interface ImageRef {
  /** Registry host as users write it (`docker.io`, `ghcr.io`, `localhost:5000`). */
  registry: string;
  /** Repository path inside the registry (`library/nginx`). */
  repository: string;
  /** Tag, when one was given (or `latest` when neither tag nor digest was). */
  tag?: string;
  /** Digest (`sha256:…`), when one was given. A digest wins over the tag when pulling. */
  digest?: string;
}

export const DEFAULT_REGISTRY = 'docker.io';
const LEGACY_DEFAULT_REGISTRY = 'index.docker.io';
const MAX_NAME_LENGTH = 255;

// Grammar from distribution/reference/regexp.go.
const alphaNumeric = '[a-z0-9]+';
const separator = '(?:[._]|__|[-]+)';
const pathComponent = `${alphaNumeric}(?:${separator}${alphaNumeric})*`;
const domainComponent = '(?:[a-zA-Z0-9]|[a-zA-Z0-9][a-zA-Z0-9-]*[a-zA-Z0-9])';
const domainName = `${domainComponent}(?:\\.${domainComponent})*`;
const ipv6 = '\\[(?:[a-fA-F0-9:]+)\\]';
const domain = `(?:${domainName}|${ipv6})(?::[0-9]+)?`;
const PATH_RE = new RegExp(`^${pathComponent}(?:/${pathComponent})*$`);
const DOMAIN_RE = new RegExp(`^${domain}$`);
const TAG_RE = /^[\w][\w.-]{0,127}$/;
const DIGEST_RE = /^[A-Za-z][A-Za-z0-9]*(?:[-_+.][A-Za-z][A-Za-z0-9]*)*:[0-9a-fA-F]{32,}$/;
const ANCHORED_ID_RE = /^[a-f0-9]{64}$/;
/** Hex lengths the registered algorithms must have (OCI image-spec, descriptor.md#digests). */
const DIGEST_HEX_LENGTH: Record<string, number> = { sha256: 64, sha512: 128 };

function invalid(input: string, why: string): AppError {
  return new AppError('INVALID_REFERENCE', `invalid image reference "${input}": ${why}`, { details: { reference: input } });
}

/**
 * Checks a digest string (`algorithm:hex`), as used in references and descriptors. Only the
 * algorithms the OCI image spec registers (sha256, sha512) pass: an unregistered one (`md5`,
 * `foo`) is grammatical but nothing can verify content against it, so it fails closed here
 * instead of reaching a registry and failing later as an outage.
 */
export function isValidDigest(digest: string): boolean {
  if (!DIGEST_RE.test(digest)) return false;
  const [algorithm, hex] = digest.split(':');
  const want = DIGEST_HEX_LENGTH[algorithm];
  // Registered algorithms use lowercase hex of a fixed length (image-spec descriptor.md).
  return want !== undefined && hex.length === want && /^[a-f0-9]+$/.test(hex);
}

/** Splits `name` into domain and path the way distribution's splitDockerDomain does. */
function splitDomain(name: string): [string, string] {
  const slash = name.indexOf('/');
  const first = slash === -1 ? '' : name.slice(0, slash);
  // The first component is a registry only if it looks like a host: a dot, a port, `localhost`,
  // or uppercase (which a path component can never have).
  const isHost = slash !== -1 && (first.includes('.') || first.includes(':') || first === 'localhost' || first.toLowerCase() !== first);
  // Host names are case-insensitive (RFC 4343): `DEMO.LOCAL` and `demo.local` are one registry,
  // so the host is kept in lower case and every comparison, key and path derived from it agrees.
  let registry = isHost ? first.toLowerCase() : DEFAULT_REGISTRY;
  let path = isHost ? name.slice(slash + 1) : name;
  if (registry === LEGACY_DEFAULT_REGISTRY) registry = DEFAULT_REGISTRY;
  if (registry === DEFAULT_REGISTRY && !path.includes('/')) path = `library/${path}`;
  return [registry, path];
}

/**
 * Parses a reference as Docker does and normalizes it: default registry `docker.io`,
 * `library/` for official images, tag `latest` when neither tag nor digest is given.
 * @throws AppError INVALID_REFERENCE with the reason.
 */
export function parseReference(input: string): ImageRef {
  if (typeof input !== 'string' || input.length === 0) throw invalid(String(input), 'empty');
  if (input !== input.trim()) throw invalid(input, 'surrounding whitespace');
  let rest = input;
  let digest: string | undefined;
  const at = rest.indexOf('@');
  if (at !== -1) {
    digest = rest.slice(at + 1);
    rest = rest.slice(0, at);
    if (!isValidDigest(digest)) {
      const algorithm = digest.split(':')[0];
      const why = DIGEST_RE.test(digest) && !(algorithm in DIGEST_HEX_LENGTH)
        ? `unregistered digest algorithm "${algorithm}" (registered: ${Object.keys(DIGEST_HEX_LENGTH).join(', ')})`
        : `bad digest "${digest}"`;
      throw invalid(input, why);
    }
  }
  let tag: string | undefined;
  // A colon after the last slash starts the tag; one before it belongs to a registry port.
  const colon = rest.lastIndexOf(':');
  if (colon > rest.lastIndexOf('/')) {
    tag = rest.slice(colon + 1);
    rest = rest.slice(0, colon);
    if (!TAG_RE.test(tag)) throw invalid(input, `bad tag "${tag}"`);
  }
  if (rest.length === 0) throw invalid(input, 'no repository name');
  if (ANCHORED_ID_RE.test(rest)) throw invalid(input, 'a 64-character hex string is an image ID, not a repository name');
  const [registry, repository] = splitDomain(rest);
  // Lower-cased, a host recognised only by its capitals (`Registry/app`) would read back as a
  // Docker Hub path (`registry/app`): one string, two images. Refuse the ambiguity.
  if (registry !== DEFAULT_REGISTRY && !/[.:]/.test(registry) && registry !== 'localhost') {
    throw invalid(input, `registry host "${rest.slice(0, rest.indexOf('/'))}" is recognised only by its capital letters; host names are case-insensitive, so give it a dot or a port`);
  }
  if (!DOMAIN_RE.test(registry)) throw invalid(input, `bad registry host "${registry}"`);
  if (repository.toLowerCase() !== repository) throw invalid(input, 'repository name must be lowercase');
  if (!PATH_RE.test(repository)) throw invalid(input, `bad repository name "${repository}"`);
  if (`${registry}/${repository}`.length > MAX_NAME_LENGTH) throw invalid(input, `name longer than ${MAX_NAME_LENGTH} characters`);
  if (!tag && !digest) tag = 'latest';
  return { registry, repository, ...(tag ? { tag } : {}), ...(digest ? { digest } : {}) };
}

/** The reference the registry API takes: the digest when there is one, else the tag. */
export function apiReference(ref: ImageRef): string {
  return ref.digest ?? ref.tag ?? 'latest';
}

/** `registry/repository[:tag][@digest]`, the fully qualified form. */
export function formatReference(ref: ImageRef): string {
  return `${ref.registry}/${ref.repository}${ref.tag ? `:${ref.tag}` : ''}${ref.digest ? `@${ref.digest}` : ''}`;
}

/** Docker Hub's aliases all mean `docker.io` (for matching configured upstreams). */
export function normalizeRegistryHost(host: string): string {
  const h = host.toLowerCase();
  return h === LEGACY_DEFAULT_REGISTRY || h === 'registry-1.docker.io' ? DEFAULT_REGISTRY : h;
}
