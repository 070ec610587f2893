/**
 * One delivery attempt of a webhook: POST the CloudEvent, signed, and read what the endpoint
 * said. Redirects are not followed (a webhook URL that redirects elsewhere would send signed
 * events to a host nobody configured); the response body is drained, capped, and ignored.
 */
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

export async function attemptDelivery(target: WebhookTarget, id: string, body: string, timeoutMs = 10_000): Promise<AttemptResult> {
  let res: Response;
  try {
    res = await fetch(target.url, {
      method: 'POST',
      redirect: 'manual',
      signal: AbortSignal.timeout(timeoutMs),
      headers: { 'content-type': 'application/json', 'user-agent': 'Portcullis-Webhooks/1', ...signWebhook(target.secret, id, body) },
      body,
    });
  } catch (err) {
    const e = err as Error & { cause?: { code?: string } };
    return { kind: 'retry', error: e.name === 'TimeoutError' ? `no answer within ${timeoutMs} ms` : (e.cause?.code ?? e.message) };
  }
  await drain(res);
  if (res.status >= 200 && res.status < 300) return { kind: 'delivered', status: res.status };
  if (res.status === 410) return { kind: 'gone', status: 410 };
  return { kind: 'retry', status: res.status };
}

async function drain(res: Response): Promise<void> {
  if (!res.body) return;
  let n = 0;
  const reader = res.body.getReader();
  try {
    for (;;) {
      const { done, value } = await reader.read();
      if (done) return;
      n += value.length;
      if (n > MAX_RESPONSE_BYTES) return;
    }
  } catch {
    // What the endpoint said does not matter past its status.
  } finally {
    void reader.cancel().catch(() => undefined);
  }
}
