/**
 * The config entry of a Clair v4 scanner (`scanners: [{type: clair, …}]`). The config loader
 * puts this schema into its `scanners` discriminated union on `type`.
 */
import { z } from 'zod';

const httpUrl = z.string().url().refine((u) => /^https?:\/\//i.test(u), 'must be an http(s) URL');

function isBase64Key(value: string): boolean {
  return /^[A-Za-z0-9+/_-]+={0,2}$/.test(value) && Buffer.from(value, 'base64').length > 0;
}

export const clairScannerConfigSchema = z
  .strictObject({
    /** Unique adapter name, shown in reports. */
    name: z.string().min(1).describe('unique name, shown in reports; stored results are keyed by it'),
    type: z.literal('clair').describe('`builtin`, `clair` or `harbor`'),
    /** Clair in combo mode: indexer and matcher under one base URL. */
    url: httpUrl.optional().describe('Clair in combo mode, or the Harbor adapter\'s base URL'),
    /** Indexer base URL when the services are split. @defaultValue `url` */
    indexerUrl: httpUrl.optional().describe('clair: split indexer and matcher services'),
    /** Matcher base URL when the services are split. @defaultValue `url` */
    matcherUrl: httpUrl.optional().describe('clair: split indexer and matcher services'),
    /**
     * Clair's pre-shared key (`auth.psk.key` in Clair's config), base64 as Clair takes it.
     * When set, every request carries an HS256 JWT signed with it. Secret: give it by env.
     */
    psk: z.string().refine(isBase64Key, 'must be the base64 key of Clair auth.psk.key').optional().describe('clair: base64 pre-shared key for HS256 JWTs (use the environment)'),
    /** The JWT `iss`; must be in Clair's `auth.psk.iss` list. @defaultValue `portcullis` */
    pskIssuer: z.string().min(1).default('portcullis').describe('clair: the JWT `iss`, one of Clair\'s `auth.psk.iss`'),
    /**
     * Base URL of Clair's notifier (`POST /hooks/clair` fetches a notification's callback only
     * when it is under this URL: same origin and path prefix). @defaultValue `url`
     */
    notifierUrl: httpUrl.optional().describe('clair: base URL of the notifier; a webhook\'s `callback` must be under it (same origin and path prefix), else it is refused and never fetched'),
    /** `iss` values accepted in the notifier's signed webhooks (`notifier.webhook.signed`). @defaultValue ['clair-notifier'] */
    notifierIssuers: z.array(z.string().min(1)).min(1).default(['clair-notifier']).describe('clair: `iss` accepted in the notifier\'s PSK-signed webhooks (Clair signs them as `clair-notifier`)'),
    /**
     * Name of an environment variable holding a bearer secret Clair's notifier sends
     * (`notifier.webhook.headers: {Authorization: ["Bearer <secret>"]}`), for notifiers that do
     * not sign their webhooks. Without it and without `psk`, the hook refuses this scanner.
     */
    webhookSecretEnv: z.string().regex(/^[A-Z_][A-Z0-9_]*$/, 'an environment variable name').optional().describe('clair: environment variable holding a bearer secret the notifier sends (`webhook.headers`), when it does not sign its webhooks with `psk`'),
    /** Notifications asked per page of a notification's callback (`page_size`). @defaultValue 500 (Clair's default) */
    notifierPageSize: z.number().int().min(1).max(10_000).default(500).describe('clair: `page_size` asked when paging a notification\'s callback'),
    /** Whole scan of one digest (index, then report). @defaultValue 900000 (15 min) */
    timeoutMs: z.number().int().positive().default(900_000).describe('clair, harbor: whole scan of one digest'),
    /**
     * One HTTP request. Clair's index POST answers only once all layers are fetched and
     * scanned, so this is long. @defaultValue 300000 (5 min)
     */
    requestTimeoutMs: z.number().int().positive().default(300_000).describe('one HTTP request to the scanner'),
    /** Wait between polls while Clair indexes or its matcher is not ready (202). @defaultValue 2000 */
    pollIntervalMs: z.number().int().positive().default(2_000).describe('wait between polls while the report is not ready'),
  })
  .refine((c) => c.url !== undefined || (c.indexerUrl !== undefined && c.matcherUrl !== undefined), {
    message: 'set url (combo mode), or both indexerUrl and matcherUrl',
    path: ['url'],
  });

/** A validated Clair scanner entry (defaults applied). */
export type ClairScannerConfig = z.infer<typeof clairScannerConfigSchema>;
/** A Clair scanner entry as written in YAML (defaults optional). */
export type ClairScannerConfigInput = z.input<typeof clairScannerConfigSchema>;
