/**
 * Standard Webhooks signatures (standardwebhooks.com, spec v1): the signed content is
 * `${webhook-id}.${webhook-timestamp}.${body}`, HMAC-SHA256 with the endpoint's secret, sent as
 * `webhook-signature: v1,<base64>`. Secrets are 24 to 64 random bytes, written base64 with an
 * optional `whsec_` prefix, as the spec's libraries generate and expect them.
 */
import { createHmac } from 'node:crypto';

export interface SignedHeaders {
  'webhook-id': string;
  'webhook-timestamp': string;
  'webhook-signature': string;
}

/** The secret's bytes; throws naming what is wrong (never the secret itself). */
export function parseWebhookSecret(value: string): Buffer {
  const b64 = value.startsWith('whsec_') ? value.slice('whsec_'.length) : value;
  if (!/^[A-Za-z0-9+/]+={0,2}$/.test(b64)) throw new Error('is not base64 (optionally prefixed with whsec_)');
  const key = Buffer.from(b64, 'base64');
  if (key.length < 24 || key.length > 64) throw new Error(`must decode to 24–64 bytes, not ${key.length}`);
  return key;
}

/** Headers for one delivery attempt: the id stays the same across retries, the timestamp is the attempt's. */
export function signWebhook(secret: Buffer, id: string, body: string, at: Date = new Date()): SignedHeaders {
  const timestamp = String(Math.floor(at.getTime() / 1000));
  const mac = createHmac('sha256', secret).update(`${id}.${timestamp}.${body}`).digest('base64');
  return { 'webhook-id': id, 'webhook-timestamp': timestamp, 'webhook-signature': `v1,${mac}` };
}
