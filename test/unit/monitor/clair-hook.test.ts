/**
 * The Clair hook's checks without a server: who may post (a PSK-signed notifier JWT, a bearer
 * secret, nothing: fail closed) and which callbacks may be fetched (the SSRF guard), and the
 * spread of rescan slots.
 */
import { createHmac } from 'node:crypto';
import { ClairHook, type ClairHookEntry } from '../../../src/monitor/clair-hook';
import { slotOf } from '../../../src/monitor/rescan';
import { createLogger } from '../../../src/lib/logger';
import { AppError } from '../../../src/lib/errors';

const PSK = Buffer.from('unit test pre-shared key of 32 b').toString('base64');
const ID = '6e4ad270-4957-4242-b5ad-dad851379573';
const NOW = Date.UTC(2026, 0, 1);

function jwt(claims: Record<string, unknown>, key = PSK, header: Record<string, unknown> = { alg: 'HS256', typ: 'JWT' }): string {
  const b64 = (o: unknown) => Buffer.from(JSON.stringify(o)).toString('base64url');
  const input = `${b64(header)}.${b64(claims)}`;
  return `${input}.${createHmac('sha256', Buffer.from(key, 'base64')).update(input).digest('base64url')}`;
}
const good = (over: Record<string, unknown> = {}) => jwt({ iss: 'clair-notifier', iat: NOW / 1000, nbf: NOW / 1000 - 60, exp: NOW / 1000 + 60, ...over });

function hook(entries: ClairHookEntry[], queued: unknown[] = []): ClairHook {
  return new ClairHook({ entries, logger: createLogger({ level: 'silent' }), now: () => NOW, seen: async () => false, enqueue: async (j) => { queued.push(j); } });
}
const clair = (name: string, extra: Partial<ClairHookEntry['config']> = {}): ClairHookEntry['config'] => ({ name, url: 'http://clair.internal:6060', notifierIssuers: ['clair-notifier'], ...extra });
const code = (f: () => unknown): string => { try { f(); return 'none'; } catch (e) { return (e as AppError).code; } };

describe('Clair hook authentication', () => {
  it('is off (404) unless a Clair scanner has a psk or a webhook secret', () => {
    expect(code(() => hook([]).authenticate(`Bearer ${good()}`))).toBe('NOT_FOUND');
    expect(code(() => hook([{ config: clair('c') }]).authenticate(`Bearer ${good()}`))).toBe('NOT_FOUND');
  });

  it('accepts the notifier\'s signed JWT and says why it refuses others', () => {
    const h = hook([{ config: clair('a', { psk: PSK }) }]);
    expect(h.authenticate(`Bearer ${good()}`)).toEqual(['a']);
    expect(code(() => h.authenticate(undefined))).toBe('UNAUTHENTICATED');
    expect(code(() => h.authenticate(`Basic ${good()}`))).toBe('UNAUTHENTICATED');
    expect(code(() => h.authenticate('Bearer nonsense'))).toBe('TOKEN_INVALID');
    expect(code(() => h.authenticate(`Bearer ${good({ exp: NOW / 1000 - 120 })}`))).toBe('TOKEN_EXPIRED');
    expect(code(() => h.authenticate(`Bearer ${good({ exp: undefined })}`))).toBe('TOKEN_EXPIRED');
    expect(code(() => h.authenticate(`Bearer ${good({ nbf: NOW / 1000 + 120 })}`))).toBe('TOKEN_NOT_YET_VALID');
    expect(code(() => h.authenticate(`Bearer ${good({ iss: 'portcullis' })}`))).toBe('TOKEN_ISSUER_UNKNOWN');
    expect(code(() => h.authenticate(`Bearer ${jwt({ iss: 'clair-notifier', exp: NOW / 1000 + 60 }, Buffer.from('x'.repeat(32)).toString('base64'))}`))).toBe('TOKEN_SIGNATURE_INVALID');
    // alg none, or a claim to another algorithm, is refused before any key is used.
    const none = `${Buffer.from('{"alg":"none"}').toString('base64url')}.${Buffer.from(JSON.stringify({ iss: 'clair-notifier', exp: NOW / 1000 + 60 })).toString('base64url')}.x`;
    expect(code(() => h.authenticate(`Bearer ${none}`))).toBe('TOKEN_ALGORITHM_REFUSED');
    expect(code(() => h.authenticate(`Bearer ${jwt({ iss: 'clair-notifier', exp: NOW / 1000 + 60 }, PSK, { alg: 'HS512' })}`))).toBe('TOKEN_ALGORITHM_REFUSED');
  });

  it('accepts a configured bearer secret, for its scanner only', () => {
    const h = hook([{ config: clair('a', { psk: PSK }) }, { config: clair('b'), secret: 'a-long-enough-shared-secret' }]);
    expect(h.authenticate('Bearer a-long-enough-shared-secret')).toEqual(['b']);
    expect(code(() => h.authenticate('Bearer a-long-enough-shared-secreT'))).toBe('TOKEN_INVALID');
    expect(h.authenticate(`Bearer ${good()}`)).toEqual(['a']);
  });
});

describe('Clair hook callback guard', () => {
  const queued: unknown[] = [];
  const h = hook([{ config: clair('a', { psk: PSK, notifierUrl: 'https://clair.internal:8443/notifier/api/v1/notification' }) }], queued);
  const accept = async (callback: string, id = ID): Promise<string> => {
    try { return (await h.accept(['a'], { notification_id: id, callback })).status; } catch (e) { return (e as AppError).code; }
  };
  const base = 'https://clair.internal:8443/notifier/api/v1/notification';

  it('queues a callback under the notifier URL that names the notification', async () => {
    expect(await accept(`${base}/${ID}`)).toBe('queued');
    expect(queued).toEqual([{ scanner: 'a', notificationId: ID, callback: `${base}/${ID}` }]);
  });

  it.each([
    ['another host', `https://evil.example/notifier/api/v1/notification/${ID}`],
    ['another port', `https://clair.internal:9443/notifier/api/v1/notification/${ID}`],
    ['another scheme', `http://clair.internal:8443/notifier/api/v1/notification/${ID}`],
    ['credentials', `https://u:p@clair.internal:8443/notifier/api/v1/notification/${ID}`],
    ['outside the path', `https://clair.internal:8443/indexer/api/v1/${ID}`],
    ['a prefix lookalike', `https://clair.internal:8443/notifier/api/v1/notificationX/${ID}`],
    ['dot segments', `https://clair.internal:8443/notifier/api/v1/notification/../../../../admin/${ID}`],
    ['encoded dot segments', `https://clair.internal:8443/notifier/api/v1/notification/%2e%2e/%2e%2e/%2e%2e/x/${ID}`],
    ['a query', `${base}/${ID}?x=1`],
    ['a fragment', `${base}/${ID}#x`],
    ['another notification', `${base}/0e4ad270-4957-4242-b5ad-dad851379573`],
    ['not a URL', 'clair.internal/notifier'],
  ])('refuses %s', async (_what, callback) => {
    const before = queued.length;
    expect(await accept(callback)).toBe('CALLBACK_REFUSED');
    expect(queued.length).toBe(before);
  });
});

describe('rescan slots', () => {
  it('spread digests over the period, stable for each (scanner, digest)', () => {
    const P = 24 * 3600_000;
    const digests = Array.from({ length: 2000 }, (_, i) => `sha256:${i.toString(16).padStart(64, '0')}`);
    const buckets = new Array<number>(24).fill(0);
    for (const d of digests) buckets[Math.floor(slotOf('harbor', d, P) / 3600_000)]! += 1;
    // 2000 digests in 24 hours: about 83 an hour, none empty nor holding a large share.
    expect(Math.min(...buckets)).toBeGreaterThan(40);
    expect(Math.max(...buckets)).toBeLessThan(140);
    expect(slotOf('harbor', digests[0]!, P)).toBe(slotOf('harbor', digests[0]!, P));
    expect(slotOf('harbor', digests[0]!, P)).not.toBe(slotOf('trivy', digests[0]!, P));
  });
});
