/**
 * `POST /hooks/clair`, behind the route (src/api/routes/hooks.ts): who may post, which
 * callbacks may be fetched, and the queuing that lets the route answer 200 at once (Clair
 * delivers again on anything else; quay/clair notifier/webhook/deliverer.go).
 *
 * Authentication fails closed. A Clair scanner takes part when it has a `psk` (Clair signs its
 * webhooks with it when `notifier.webhook.signed` is on: an HS256 JWT, `iss: clair-notifier`)
 * or a `webhookSecretEnv` (a bearer secret Clair sends as a configured header). Without any
 * such scanner the hook does not exist (404); without a credential one of them accepts, 401.
 * The callback must then be under that scanner's notifier URL (`CALLBACK_REFUSED`, logged,
 * never fetched). A notification already applied, queued or running is not queued again.
 */
import { timingSafeEqual, createHash } from 'node:crypto';
import { AppError, type ErrorCode } from '../lib/errors';
import type { Logger } from '../lib/logger';
import { clairCallbackProblem, verifyHs256, type ClairScannerConfig, type PskRefusal } from '../scanners';

/** Clock skew allowed on the notifier's `exp`/`nbf` (its tokens live ±1 min). */
const LEEWAY_S = 60;

export interface ClairHookEntry {
  config: Pick<ClairScannerConfig, 'name' | 'url' | 'notifierUrl' | 'psk' | 'notifierIssuers'>;
  /** The bearer secret read from `webhookSecretEnv`. */
  secret?: string;
}

export interface ClairHookBody {
  notification_id: string;
  callback: string;
}

export interface ClairHookDeps {
  entries: readonly ClairHookEntry[];
  /** Already applied (the marker of ./clair-notifications.ts). */
  seen(notificationId: string): Promise<boolean>;
  /** Queues the job once per notification id (an add while one is queued or running is a no-op). */
  enqueue(job: { scanner: string; notificationId: string; callback: string }): Promise<void>;
  logger: Logger;
  /** @defaultValue Date.now */
  now?: () => number;
}

const REFUSAL_CODE: Record<PskRefusal, ErrorCode> = {
  malformed: 'TOKEN_INVALID', algorithm: 'TOKEN_ALGORITHM_REFUSED', signature: 'TOKEN_SIGNATURE_INVALID',
  issuer: 'TOKEN_ISSUER_UNKNOWN', expired: 'TOKEN_EXPIRED', not_yet_valid: 'TOKEN_NOT_YET_VALID',
};
/** When several scanners refuse, the most telling reason wins (a good signature first). */
const REFUSAL_ORDER: PskRefusal[] = ['expired', 'not_yet_valid', 'issuer', 'signature', 'algorithm', 'malformed'];

const sha = (s: string): Buffer => createHash('sha256').update(s).digest();

export class ClairHook {
  private readonly entries: readonly ClairHookEntry[];

  constructor(private readonly d: ClairHookDeps) {
    this.entries = d.entries.filter((e) => e.config.psk !== undefined || e.secret !== undefined);
  }

  /** The Clair scanners `authorization` proves itself to; throws NOT_FOUND or a 401 code. */
  authenticate(authorization: string | undefined): string[] {
    if (this.entries.length === 0) throw new AppError('NOT_FOUND', 'no Clair scanner has a psk or webhookSecretEnv: the Clair hook is off');
    const m = /^Bearer\s+(\S+)$/i.exec(authorization ?? '');
    if (!m) throw new AppError('UNAUTHENTICATED', 'the Clair hook needs Authorization: Bearer (the notifier\'s signed JWT or its configured secret)');
    const token = m[1]!;
    const names: string[] = [];
    const refusals: PskRefusal[] = [];
    for (const e of this.entries) {
      // Hashes compared, so that the comparison takes the same time whatever the lengths.
      if (e.secret !== undefined && timingSafeEqual(sha(token), sha(e.secret))) { names.push(e.config.name); continue; }
      if (e.config.psk === undefined) continue;
      const refusal = verifyHs256(token, e.config.psk, { issuers: e.config.notifierIssuers, nowMs: (this.d.now ?? Date.now)(), leewayS: LEEWAY_S });
      if (refusal === null) names.push(e.config.name);
      else refusals.push(refusal);
    }
    if (names.length) return names;
    const reason = REFUSAL_ORDER.find((r) => refusals.includes(r));
    throw new AppError(reason ? REFUSAL_CODE[reason] : 'TOKEN_INVALID', `the Clair hook refused the token${reason ? ` (${reason.replace(/_/g, ' ')})` : ''}`);
  }

  /** Checks the callback against the scanners `names` and queues the notification. */
  async accept(names: readonly string[], body: ClairHookBody): Promise<{ status: 'queued' | 'already_applied'; scanner: string }> {
    const problems: string[] = [];
    const entry = this.entries.find((e) => {
      if (!names.includes(e.config.name)) return false;
      const problem = clairCallbackProblem(e.config, body.callback, body.notification_id);
      if (problem) problems.push(`${e.config.name}: ${problem}`);
      return problem === null;
    });
    if (!entry) {
      // The URL is logged without its query (it carries none when valid) so the operator can see where it pointed.
      this.d.logger.warn({ 'event.action': 'clair.callback_refused', 'clair.notification_id': body.notification_id, 'url.original': body.callback.split('?')[0]!.slice(0, 300), reasons: problems }, 'Clair notification refused: its callback is not under the notifier URL; not fetched');
      throw new AppError('CALLBACK_REFUSED', `the callback is not under the Clair notifier URL (${problems.map((p) => p.split(': ').slice(1).join(': ')).join('; ')})`);
    }
    const scanner = entry.config.name;
    if (await this.d.seen(body.notification_id)) return { status: 'already_applied', scanner };
    await this.d.enqueue({ scanner, notificationId: body.notification_id, callback: body.callback });
    return { status: 'queued', scanner };
  }
}
