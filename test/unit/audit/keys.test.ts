import { randomBytes } from 'node:crypto';
import { AuditKeyring } from '../../../src/audit/keys';
import { ConfigError } from '../../../src/lib/config';

const b64 = (n: number) => randomBytes(n).toString('base64');

function errorOf(fn: () => unknown): Error {
  try { fn(); } catch (e) { return e as Error; }
  throw new Error('did not throw');
}

describe('audit key ring (PORTCULLIS_AUDIT_KEY)', () => {
  it('refuses to run without the variable, saying what to set (fail closed)', () => {
    const err = errorOf(() => AuditKeyring.fromEnv({}));
    expect(err).toBeInstanceOf(ConfigError);
    expect(err.message).toMatch(/^PORTCULLIS_AUDIT_KEY is not set/);
  });

  it.each([
    ['nokeyid', /must be <keyId>:<base64 key>/],
    [`k1:${b64(16)}`, /16 bytes; at least 32/],
    ['k1:not base64!!', /not base64/],
    [`bad id:${b64(32)}`, /key id/],
    [`k1:${b64(32)},k1:${b64(32)}`, /appears twice/],
  ])('refuses %s with a message that names no key material', (value, pattern) => {
    const err = errorOf(() => AuditKeyring.parse(value));
    expect(err).toBeInstanceOf(ConfigError);
    expect(err.message).toMatch(pattern);
    const secret = value.split(':')[1]?.split(',')[0] ?? '';
    if (secret.length > 8) expect(err.message).not.toContain(secret);
  });

  it('signs with the first key and checks with any; a MAC of one domain does not verify in another', () => {
    const k1 = `k1:${b64(32)}`;
    const k2 = `k2:${randomBytes(48).toString('base64url')}`;
    const old = AuditKeyring.parse(k1);
    const ring = AuditKeyring.parse(`${k2}, ${k1}`);
    expect(ring.signingKeyId).toBe('k2');
    const signed = old.sign('checkpoint', 'm');
    expect(ring.check(signed.keyId, 'checkpoint', 'm', signed.mac)).toBe(true);
    expect(ring.check(signed.keyId, 'entry', 'm', signed.mac)).toBe(false);
    expect(ring.check(signed.keyId, 'checkpoint', 'm2', signed.mac)).toBe(false);
    expect(ring.check('k3', 'checkpoint', 'm', signed.mac)).toBe(false);
    expect(old.check('k2', 'checkpoint', 'm', ring.sign('checkpoint', 'm').mac)).toBe(false);
  });
});
