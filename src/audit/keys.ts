/**
 * The audit key ring: HMAC-SHA256 keys that Redis never holds, so that a Redis writer cannot
 * forge an entry, a checkpoint or an archive anchor. `PORTCULLIS_AUDIT_KEY` holds one or more
 * `<keyId>:<base64 key>` separated by commas: the first signs, every one verifies, so a key is
 * rotated by putting the new one first and keeping the old one until its entries are archived.
 * A key decodes to at least 32 bytes (HMAC-SHA256's own strength); `openssl rand -base64 32`
 * makes one. Without the variable nothing starts (fail closed): an unauthenticated log would
 * be exactly the log a Redis writer can rewrite.
 */
import { createHmac, timingSafeEqual } from 'node:crypto';
import { ConfigError } from '../lib/config';

export const AUDIT_KEY_ENV = 'PORTCULLIS_AUDIT_KEY';
export const MIN_KEY_BYTES = 32;
const KEY_ID = /^[A-Za-z0-9._-]{1,32}$/;
const BASE64 = /^(?:[A-Za-z0-9+/_-]{4})*(?:[A-Za-z0-9+/_-]{2}(?:==)?|[A-Za-z0-9+/_-]{3}=?)?$/;

/** What a MAC covers: one domain per kind of object, so an entry's MAC never verifies as a checkpoint's. */
export type MacDomain = 'entry' | 'checkpoint' | 'anchor' | 'archive';

export class AuditKeyring {
  readonly signingKeyId: string;
  private readonly keys: ReadonlyMap<string, Buffer>;

  constructor(keys: Array<{ id: string; key: Buffer }>) {
    if (keys.length === 0) throw new ConfigError(`${AUDIT_KEY_ENV}: no key given`);
    const map = new Map<string, Buffer>();
    for (const { id, key } of keys) {
      if (!KEY_ID.test(id)) throw new ConfigError(`${AUDIT_KEY_ENV}: key id '${id.slice(0, 40)}' must be 1-32 of A-Z a-z 0-9 . _ -`);
      if (key.length < MIN_KEY_BYTES) throw new ConfigError(`${AUDIT_KEY_ENV}: key '${id}' is ${key.length} bytes; at least ${MIN_KEY_BYTES} are needed (openssl rand -base64 32)`);
      if (map.has(id)) throw new ConfigError(`${AUDIT_KEY_ENV}: key id '${id}' appears twice`);
      map.set(id, key);
    }
    this.keys = map;
    this.signingKeyId = keys[0].id;
  }

  /** Parses `id:base64[,id:base64…]`. Messages name the key id, never key material. */
  static parse(value: string): AuditKeyring {
    const parts = value.split(',').map((p) => p.trim()).filter(Boolean);
    return new AuditKeyring(parts.map((part, i) => {
      const colon = part.indexOf(':');
      if (colon <= 0) throw new ConfigError(`${AUDIT_KEY_ENV}: entry ${i + 1} must be <keyId>:<base64 key>`);
      const id = part.slice(0, colon);
      const b64 = part.slice(colon + 1);
      if (!BASE64.test(b64)) throw new ConfigError(`${AUDIT_KEY_ENV}: key '${id.slice(0, 40)}' is not base64`);
      return { id, key: Buffer.from(b64.replace(/-/g, '+').replace(/_/g, '/'), 'base64') };
    }));
  }

  /** From the environment; a missing variable stops whoever asked (service start, CLI). */
  static fromEnv(env: NodeJS.ProcessEnv = process.env): AuditKeyring {
    const value = env[AUDIT_KEY_ENV];
    if (!value) {
      throw new ConfigError(`${AUDIT_KEY_ENV} is not set: the audit log is authenticated with a key Redis never holds, and nothing runs without it (fail closed). Set it to <keyId>:<base64 of 32+ random bytes>, e.g. k1:$(openssl rand -base64 32)`);
    }
    return AuditKeyring.parse(value);
  }

  has(keyId: string): boolean {
    return this.keys.has(keyId);
  }

  /** Hex HMAC-SHA256 with the signing key. */
  sign(domain: MacDomain, message: string): { keyId: string; mac: string } {
    return { keyId: this.signingKeyId, mac: this.mac(this.signingKeyId, domain, message) };
  }

  /** Hex HMAC-SHA256 with a given key; throws when the key ring does not hold it. */
  mac(keyId: string, domain: MacDomain, message: string): string {
    const key = this.keys.get(keyId);
    if (!key) throw new Error(`unknown audit key id '${keyId}'`);
    return createHmac('sha256', key).update(`portcullis-audit-${domain}-v1\n`).update(message).digest('hex');
  }

  /** Constant-time check; false for an unknown key id. */
  check(keyId: unknown, domain: MacDomain, message: string, mac: unknown): boolean {
    if (typeof keyId !== 'string' || typeof mac !== 'string' || !this.keys.has(keyId)) return false;
    const expected = Buffer.from(this.mac(keyId, domain, message), 'hex');
    const given = Buffer.from(mac, 'hex');
    return given.length === expected.length && timingSafeEqual(given, expected);
  }
}
