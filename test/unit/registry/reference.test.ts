import fc from 'fast-check';
import { isAppError } from '../../../src/lib/errors';
import { apiReference, formatReference, isValidDigest, parseReference } from '../../../src/registry/reference';

const HEX64 = 'a'.repeat(64);
const DIGEST = `sha256:${'0123456789abcdef'.repeat(4)}`;

function code(fn: () => unknown): string | undefined {
  try {
    fn();
    return undefined;
  } catch (err) {
    return isAppError(err) ? err.code : 'NOT_APP_ERROR';
  }
}

describe('parseReference: Docker normalization', () => {
  test.each([
    ['nginx', 'docker.io', 'library/nginx', 'latest', undefined],
    ['nginx:1.25', 'docker.io', 'library/nginx', '1.25', undefined],
    ['library/nginx', 'docker.io', 'library/nginx', 'latest', undefined],
    ['bitnami/redis:7', 'docker.io', 'bitnami/redis', '7', undefined],
    ['docker.io/nginx', 'docker.io', 'library/nginx', 'latest', undefined],
    ['index.docker.io/nginx', 'docker.io', 'library/nginx', 'latest', undefined],
    ['ghcr.io/owner/app:v1', 'ghcr.io', 'owner/app', 'v1', undefined],
    ['localhost/app', 'localhost', 'app', 'latest', undefined],
    ['localhost:5000/team/app:dev', 'localhost:5000', 'team/app', 'dev', undefined],
    ['127.0.0.1:5000/a/b/c', '127.0.0.1:5000', 'a/b/c', 'latest', undefined],
    ['[::1]:5000/app', '[::1]:5000', 'app', 'latest', undefined],
    ['DEMO.LOCAL/x', 'demo.local', 'x', 'latest', undefined],
    ['Demo.Local:5000/team/x:1', 'demo.local:5000', 'team/x', '1', undefined],
    ['my_name/a__b-c.d', 'docker.io', 'my_name/a__b-c.d', 'latest', undefined],
    [`nginx@${DIGEST}`, 'docker.io', 'library/nginx', undefined, DIGEST],
    [`quay.io/x/y:1.0@${DIGEST}`, 'quay.io', 'x/y', '1.0', DIGEST],
  ])('%s', (input, registry, repository, tag, digest) => {
    const ref = parseReference(input);
    expect(ref).toEqual({ registry, repository, ...(tag ? { tag } : {}), ...(digest ? { digest } : {}) });
  });

  test('the API reference is the digest when there is one', () => {
    expect(apiReference(parseReference(`a:b@${DIGEST}`))).toBe(DIGEST);
    expect(apiReference(parseReference('a:b'))).toBe('b');
  });

  test.each([
    ['', 'empty'],
    ['UPPER', 'uppercase repository'],
    ['docker.io/Library/nginx', 'uppercase path'],
    ['nginx:', 'empty tag'],
    ['nginx:-bad', 'tag starting with -'],
    [`nginx:${'t'.repeat(129)}`, 'tag too long'],
    ['nginx@sha256:abc', 'short digest'],
    [`nginx@sha256:${'A'.repeat(64)}`, 'uppercase sha256 hex'],
    [`nginx@sha512:${'a'.repeat(64)}`, 'sha512 of the wrong length'],
    [HEX64, 'bare image id'],
    ['Registry/app', 'a host recognised only by capitals would lower-case into a Docker Hub path'],
    [`nginx@md5:${'a'.repeat(32)}`, 'unregistered algorithm md5'],
    [`nginx@foo:${'a'.repeat(64)}`, 'unregistered algorithm foo'],
    [`nginx@sha384:${'a'.repeat(96)}`, 'unregistered algorithm sha384'],
    ['a//b', 'empty path component'],
    ['a/b/', 'trailing slash'],
    ['-a/b', 'leading separator'],
    ['a..b', 'double dot'],
    ['host:port/app', 'non-numeric port'],
    ['-host.com/app', 'bad domain'],
    [' nginx', 'whitespace'],
    ['nginx:1@', 'empty digest'],
    [`${'a'.repeat(250)}/bbbbbb`, 'name over 255'],
  ])('refuses %j (%s) with INVALID_REFERENCE', (input) => {
    expect(code(() => parseReference(input))).toBe('INVALID_REFERENCE');
  });
});

const lower = fc.constantFrom(...'abcdefghijklmnopqrstuvwxyz0123456789'.split(''));
const alnum = fc.string({ unit: lower, minLength: 1, maxLength: 8 });
const sep = fc.constantFrom('.', '_', '__', '-', '--');
const component = fc.tuple(alnum, fc.array(fc.tuple(sep, alnum), { maxLength: 2 }))
  .map(([a, rest]) => a + rest.map(([s, b]) => s + b).join(''));
const path = fc.array(component, { minLength: 1, maxLength: 4 }).map((c) => c.join('/'))
  .filter((p) => !/^[a-f0-9]{64}$/.test(p));
const host = fc.oneof(
  fc.constant('localhost'),
  fc.tuple(alnum, alnum).map(([a, b]) => `${a}.${b}`),
  fc.tuple(fc.integer({ min: 0, max: 255 }), fc.integer({ min: 1, max: 65535 })).map(([a, p]) => `10.0.0.${a}:${p}`),
);
const tagArb = fc.tuple(
  fc.constantFrom(...'abcXYZ019_'.split('')),
  fc.string({ unit: fc.constantFrom(...'abcXYZ019_.-'.split('')), maxLength: 20 }),
).map(([a, b]) => a + b);
const digestArb = fc.string({ unit: fc.constantFrom(...'0123456789abcdef'.split('')), minLength: 64, maxLength: 64 })
  .map((h) => `sha256:${h}`);

describe('parseReference: properties', () => {
  test('every well-formed reference parses, and its formatted form parses to the same thing', () => {
    fc.assert(fc.property(fc.option(host), path, fc.option(tagArb), fc.option(digestArb), (h, p, t, d) => {
      fc.pre(`${h ?? 'docker.io'}/${p}`.length <= 240);
      // Without a host, a first component that looks like one (a dot, `localhost`) is one, as in Docker.
      const first = p.split('/')[0];
      fc.pre(h !== null || !p.includes('/') || (!first.includes('.') && first !== 'localhost'));
      const input = `${h ? `${h}/` : ''}${p}${t ? `:${t}` : ''}${d ? `@${d}` : ''}`;
      const ref = parseReference(input);
      expect(ref.registry).toBe(h ?? 'docker.io');
      if (h) expect(ref.repository).toBe(p);
      else expect(ref.repository).toBe(p.includes('/') ? p : `library/${p}`);
      expect(ref.tag).toBe(t ?? (d ? undefined : 'latest'));
      expect(ref.digest).toBe(d ?? undefined);
      expect(parseReference(formatReference(ref))).toEqual(ref);
    }));
  });

  test('a reference containing a forbidden character is refused with INVALID_REFERENCE, never another error', () => {
    const bad = fc.constantFrom(' ', '!', '$', '#', '%', '*', '\\', '\n', '?', ',', '"', 'é');
    fc.assert(fc.property(path, bad, fc.nat(), (p, c, i) => {
      const at = i % (p.length + 1);
      expect(code(() => parseReference(p.slice(0, at) + c + p.slice(at)))).toBe('INVALID_REFERENCE');
    }));
  });

  test('arbitrary strings either parse to a valid reference or fail with INVALID_REFERENCE', () => {
    fc.assert(fc.property(fc.string({ maxLength: 80 }), (s) => {
      const c = code(() => parseReference(s));
      expect(c === undefined || c === 'INVALID_REFERENCE').toBe(true);
      if (c === undefined) expect(parseReference(formatReference(parseReference(s)))).toEqual(parseReference(s));
    }));
  });

  test('digests: sha256 needs 64 lowercase hex characters', () => {
    fc.assert(fc.property(digestArb, (d) => { expect(isValidDigest(d)).toBe(true); }));
    expect(isValidDigest('sha256:')).toBe(false);
    expect(isValidDigest(`sha256:${'a'.repeat(63)}`)).toBe(false);
  });
});
