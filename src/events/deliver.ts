/**
 * One delivery attempt of a webhook: POST the CloudEvent, signed, and read what the endpoint
 * said, through the outbound HTTP client (lib/http). Redirects are not followed (a webhook URL
 * that redirects elsewhere would send signed events to a host nobody configured); the response
 * body is read up to a cap, and ignored.
 */
import { defaultHttpClient, isHttpError, type HttpClient } from '../lib/http';
import { signWebhook } from './signature';

export interface WebhookTarget {
  name: string;
  url: string;
  secret: Buffer;
}

export type AttemptResult =
  | { kind: 'delivered'; status: number }
  /** 410 Gone: the endpoint asks never to be called again (Standard Webhooks, "Disabling endpoints"). */
  | { kind: 'gone'; status: 410 }
  | { kind: 'retry'; status?: number; error?: string };

const MAX_RESPONSE_BYTES = 64 * 1024;
/** The CloudEvents HTTP binding's structured content mode (3.2.1): the JSON event format's media type. */
export const CLOUDEVENTS_CONTENT_TYPE = 'application/cloudevents+json; charset=UTF-8';

export async function attemptDelivery(target: WebhookTarget, id: string, body: string, timeoutMs = 10_000, client: HttpClient = defaultHttpClient()): Promise<AttemptResult> {
  let status: number;
  try {
    ({ status } = await client.request({
      method: 'POST',
      url: target.url,
      timeoutMs,
      // What the endpoint said does not matter past its status.
      maxBodyBytes: MAX_RESPONSE_BYTES,
      overflow: 'truncate',
      headers: { 'content-type': CLOUDEVENTS_CONTENT_TYPE, 'user-agent': 'Portcullis-Webhooks/1', ...signWebhook(target.secret, id, body) },
      body,
      what: `webhook ${target.name}`,
    }));
  } catch (err) {
    if (!isHttpError(err)) throw err;
    const code = (err.cause as { code?: unknown } | undefined)?.code;
    return { kind: 'retry', error: err.reason === 'timeout' ? `no answer within ${timeoutMs} ms` : typeof code === 'string' ? code : err.message };
  }
  if (status >= 200 && status < 300) return { kind: 'delivered', status };
  if (status === 410) return { kind: 'gone', status: 410 };
  return { kind: 'retry', status };
}
