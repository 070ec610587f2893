/**
 * Clair's notifier, from Portcullis' side (quay/clair Documentation/concepts/notifications.md,
 * `httptransport/api/v1/openapi.yaml` 1.2.0): a webhook `{notification_id, callback}` names a
 * notification set; `GET <callback>?page_size=N[&next=X]` pages it (`page.next` absent, or
 * `"-1"`, on the last page; the same `page_size` on every request, as the document asks);
 * `DELETE <callback>` frees it. Each notification names one manifest (an image manifest as it
 * was indexed: a child of an index, not the index) and only the most severe vulnerability of
 * the change, so the caller reads the full vulnerability report again.
 *
 * The callback comes from a webhook body: it is fetched only when it is under the scanner's
 * notifier URL (same scheme, host and port, path under its path) and names the notification
 * (Clair appends the id to its configured callback), so a forged or misrouted body cannot
 * make Portcullis send its PSK token, or any request, elsewhere.
 */
import { z } from 'zod';
import { AppError } from '../../lib/errors';
import { parseBody, unexpectedStatus } from '../remote';
import type { ClairClient } from './client';
import type { ClairScannerConfig } from './config';

/** Pages followed at most for one notification (500 × 10,000 manifests is far beyond any real update). */
const MAX_PAGES = 10_000;

const notificationSchema = z.looseObject({
  id: z.string().optional(),
  manifest: z.string().regex(/^sha(256:[a-f0-9]{64}|512:[a-f0-9]{128})$/),
  reason: z.string().optional(),
});

export const notificationPageSchema = z.looseObject({
  page: z.looseObject({ size: z.number().int().nonnegative().optional(), next: z.string().nullable().optional() }),
  notifications: z.array(notificationSchema).nullable(),
});

/** The notifier base a callback must be under: `notifierUrl`, else the combo `url`. */
export function notifierBase(config: Pick<ClairScannerConfig, 'notifierUrl' | 'url'>): string | undefined {
  return config.notifierUrl ?? config.url;
}

/** Why `callback` may not be fetched for `notificationId`, or null when it may. */
export function callbackProblem(config: Pick<ClairScannerConfig, 'notifierUrl' | 'url'>, callback: string, notificationId: string): string | null {
  const baseText = notifierBase(config);
  if (!baseText) return 'the scanner has no notifierUrl (nor a combo url)';
  let url: URL;
  try {
    url = new URL(callback);
  } catch {
    return 'the callback is not a URL';
  }
  const base = new URL(baseText);
  if (url.protocol !== base.protocol || url.host !== base.host) return 'the callback is not on the notifier\'s origin';
  if (url.username || url.password) return 'the callback carries credentials';
  if (url.search || url.hash) return 'the callback carries a query or a fragment';
  // WHATWG URL parsing already resolved `..` and `%2e%2e` segments.
  const prefix = base.pathname.replace(/\/+$/, '');
  if (!url.pathname.startsWith(`${prefix}/`)) return 'the callback is not under the notifier\'s path';
  const last = url.pathname.split('/').filter(Boolean).pop();
  if (last !== notificationId) return 'the callback does not name the notification';
  return null;
}

/** Every manifest digest a notification names, all pages read. */
export async function notificationManifests(client: ClairClient, callback: string, pageSize: number): Promise<string[]> {
  const manifests = new Set<string>();
  const seen = new Set<string>();
  let next: string | undefined;
  for (let page = 0; page < MAX_PAGES; page++) {
    const url = `${callback}?page_size=${pageSize}${next ? `&next=${encodeURIComponent(next)}` : ''}`;
    const what = `Clair notification page ${page + 1}`;
    const res = await client.call({ method: 'GET', url, what });
    if (res.status !== 200) throw unexpectedStatus(res, what);
    const body = parseBody(notificationPageSchema, res, what);
    for (const n of body.notifications ?? []) manifests.add(n.manifest);
    const after = body.page.next ?? undefined;
    if (!after || after === '-1') return [...manifests].sort();
    if (seen.has(after)) throw new AppError('SCAN_FAILED', `${what}: page.next ${after} was already followed (a paging loop)`);
    seen.add(after);
    next = after;
  }
  throw new AppError('SCAN_FAILED', `Clair notification: more than ${MAX_PAGES} pages`);
}

/** `DELETE <callback>`: 200 or 204 (the spec lists both); 404 means already gone. */
export async function deleteNotification(client: ClairClient, callback: string): Promise<void> {
  const what = 'Clair notification delete';
  const res = await client.call({ method: 'DELETE', url: callback, what });
  if (res.status !== 200 && res.status !== 204 && res.status !== 404) throw unexpectedStatus(res, what);
}
