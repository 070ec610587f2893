/** Contract of the scanners' webhooks (hooks.ts): Clair's notifier. */
import { z } from 'zod';
import { route } from '../contract';

/** Clair's webhook body (quay/clair httptransport/types/v1/notification_webhook.schema.json); fields Clair may add later are ignored. */
export const clairHookBody = z.looseObject({
  notification_id: z.string().regex(/^[0-9a-fA-F]{8}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{12}$/, 'must be a UUID'),
  callback: z.string().min(1).max(2048),
});

export const hooksContracts = [
  route({
    method: 'post', path: '/hooks/clair', auth: 'none',
    summary: 'Clair\'s notifier webhook: queues the notification and answers at once',
    description: 'Authenticated by the notifier\'s PSK-signed JWT (`notifier.webhook.signed`, a Clair scanner\'s `psk`) or a bearer secret '
      + '(a Clair scanner\'s `webhookSecretEnv`); 404 when no Clair scanner has either. The `callback` must be under the scanner\'s '
      + 'notifier URL, else `CALLBACK_REFUSED` (never fetched). A worker then pages the callback, reads the full report of each affected '
      + 'approved digest again, stores it, publishes `findings.updated`, and deletes the notification. A notification already queued, '
      + 'running or applied is not queued again.',
    body: clairHookBody,
    responses: { 200: { description: 'queued, or already applied', schema: z.object({ status: z.enum(['queued', 'already_applied']) }) } },
    errors: [
      'NOT_FOUND', 'UNAUTHENTICATED', 'TOKEN_INVALID', 'TOKEN_EXPIRED', 'TOKEN_NOT_YET_VALID', 'TOKEN_ISSUER_UNKNOWN', 'TOKEN_ALGORITHM_REFUSED',
      'TOKEN_SIGNATURE_INVALID', 'RATE_LIMITED', 'CALLBACK_REFUSED', 'BODY_TOO_LARGE', 'UNSUPPORTED_MEDIA_TYPE', 'DEPENDENCY_UNAVAILABLE', 'INTERNAL',
    ],
  }),
];
