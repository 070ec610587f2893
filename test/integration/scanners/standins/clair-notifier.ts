/**
 * The notifier half of the Clair stand-in, written from Clair's published API and documents
 * (quay/clair `httptransport/api/v1/openapi.yaml` 1.2.0 `/notifier/api/v1/notification/{id}`,
 * Documentation/concepts/notifications.md, notifier/webhook/deliverer.go), because the real
 * notifier cannot run here (PostgreSQL, feeds). Test-only, loopback only.
 *
 * - `notify()` creates a notification set (one Notification per manifest: `id`, `manifest`,
 *   `reason: added`, a `vulnerability` summary, as the spec's schema has them) and POSTs the
 *   webhook body `{"callback": …, "notification_id": …}` (`application/json`) to the target,
 *   delivering again until it gets HTTP 200 (only 200 counts as delivered, as in Clair), up to
 *   `maxAttempts`; `redeliveries` sends it again after the 200 (Clair is at-least-once). With
 *   `sign`, each delivery carries `Authorization: Bearer <HS256 JWT>` made with the PSK, claims
 *   `iss: clair-notifier`, `iat`, `nbf` = now - 60 s, `exp` = now + 60 s (internal/httputil/signer.go).
 * - `GET /notifier/api/v1/notification/{id}?page_size=N&next=X` pages the set (default 500);
 *   `page.next` is a UUID naming the next page, absent on the last page (notifier/pager.go).
 * - `DELETE /notifier/api/v1/notification/{id}` deletes the set (200).
 */
import { createHmac, randomUUID } from 'node:crypto';
import type { IncomingMessage, ServerResponse } from 'node:http';

interface NotificationSet {
  notifications: Array<Record<string, unknown>>;
  /** page token → offset */
  pages: Map<string, number>;
}

export interface NotifyOptions {
  /** The webhook target (`notifier.webhook.target`). */
  target: string;
  manifests: string[];
  /** Sign deliveries with this base64 PSK (`notifier.webhook.signed`). */
  sign?: string;
  /** Extra headers (`notifier.webhook.headers`), e.g. a bearer secret. */
  headers?: Record<string, string>;
  /** Override the callback (a hostile or misconfigured notifier). */
  callback?: string;
  maxAttempts?: number;
  redeliveries?: number;
}

export interface Delivery { id: string; callback: string; statuses: number[] }

function sign(psk: string): string {
  const b64 = (o: unknown) => Buffer.from(JSON.stringify(o)).toString('base64url');
  const now = Math.floor(Date.now() / 1000);
  const input = `${b64({ alg: 'HS256', typ: 'JWT' })}.${b64({ iss: 'clair-notifier', iat: now, nbf: now - 60, exp: now + 60 })}`;
  return `${input}.${createHmac('sha256', Buffer.from(psk, 'base64')).update(input).digest('base64url')}`;
}

export class StandinNotifier {
  private readonly sets = new Map<string, NotificationSet>();

  constructor(private readonly baseUrl: () => string, private readonly events: string[]) {}

  async notify(o: NotifyOptions): Promise<Delivery> {
    const id = randomUUID();
    const notifications = o.manifests.map((manifest) => ({
      id: randomUUID(), manifest, reason: 'added',
      vulnerability: { name: 'CVE-2021-3711', description: 'SM2 decryption buffer overflow', normalized_severity: 'Critical', fixed_in_version: '1.1.1l', links: 'https://access.redhat.com/security/cve/CVE-2021-3711', package: { id: '1', name: 'openssl-libs', version: '1:1.1.1g-15.el8_3' } },
    }));
    this.sets.set(id, { notifications, pages: new Map() });
    const callback = o.callback ?? `${this.baseUrl()}/notifier/api/v1/notification/${id}`;
    const statuses: number[] = [];
    const deliver = async (): Promise<number> => {
      const res = await fetch(o.target, {
        method: 'POST',
        headers: { 'content-type': 'application/json', ...o.headers, ...(o.sign ? { authorization: `Bearer ${sign(o.sign)}` } : {}) },
        body: JSON.stringify({ callback, notification_id: id }),
      });
      await res.arrayBuffer();
      statuses.push(res.status);
      return res.status;
    };
    for (let i = 0; i < (o.maxAttempts ?? 5); i++) if ((await deliver()) === 200) break;
    if (statuses.at(-1) === 200) for (let i = 0; i < (o.redeliveries ?? 0); i++) await deliver();
    return { id, callback, statuses };
  }

  /** Answers the notifier's routes; false when `path` is not one of them. */
  handle(req: IncomingMessage, res: ServerResponse, url: URL): boolean {
    const m = /^\/notifier\/api\/v1\/notification\/([^/]+)$/.exec(url.pathname);
    if (!m) return false;
    const reply = (status: number, body: unknown) => { res.writeHead(status, { 'content-type': 'application/json' }); res.end(JSON.stringify(body)); };
    const set = this.sets.get(m[1]!);
    if (req.method === 'DELETE') {
      this.events.push(`notification delete ${m[1]}`);
      this.sets.delete(m[1]!);
      reply(200, {});
      return true;
    }
    if (req.method !== 'GET') { reply(405, { code: 'method-not-allowed', message: 'endpoint only allows GET or DELETE' }); return true; }
    const size = Number(url.searchParams.get('page_size') ?? '500') || 500;
    const next = url.searchParams.get('next');
    this.events.push(`notification page ${m[1]} size=${size} next=${next ?? ''}`);
    if (!set) return reply(200, { page: { size }, notifications: [] }), true;
    const offset = next ? set.pages.get(next) : 0;
    if (offset === undefined) return reply(400, { code: 'bad-request', message: 'could not parse "next" query param into uuid' }), true;
    const page = set.notifications.slice(offset, offset + size);
    const after = offset + size < set.notifications.length ? randomUUID() : undefined;
    if (after) set.pages.set(after, offset + size);
    reply(200, { page: { size, ...(after ? { next: after } : {}) }, notifications: page });
    return true;
  }
}
