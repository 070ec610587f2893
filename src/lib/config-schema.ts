/**
 * The one typed configuration schema: every key's default (`.default()`) and its documentation
 * (`.describe()`) live here and nowhere else. `npm run docs:config` generates config/default.yaml
 * and the README's table from it (scripts/docs-config-gen.ts); a test fails while they differ.
 * It validates the merged configuration and rejects unknown keys, so a typo stops the process.
 */
import { z } from 'zod';
// Layering: lib composes the zod-only config schemas each module declares (and nothing else of them).
import { auditConfigSchema } from '../audit/config';
import { authConfigSchema } from '../identity/config';
import { monitorConfigSchema } from '../monitor/config';
import { policyConfigSchema } from '../policy/config';
import { scannersConfigSchema, scanningConfigSchema } from '../scanners/config';
import { codeScansConfigSchema } from '../scanners/sarif/config';

const url = z.string().url();

export const upstreamSchema = z.strictObject({
  /** The host users write in image references, e.g. `docker.io`, `ghcr.io`, `localhost:5000`. */
  registry: z.string().min(1).describe('the host users write in references (`docker.io`, `ghcr.io`)'),
  /** URL of the reverse proxy through which this registry is reached. */
  endpoint: url.describe('URL of the reverse proxy through which that registry is reached'),
  username: z.string().optional().describe('credentials at the upstream (use the environment)'),
  password: z.string().optional().describe('credentials at the upstream (use the environment)'),
  /** Skip TLS verification. Only for test setups. @defaultValue false */
  insecure: z.boolean().default(false).describe('skip TLS verification of the endpoint'),
  /** PEM bundle of CAs trusted for this endpoint. */
  caFile: z.string().optional().describe('PEM bundle trusted for the endpoint'),
  /** Forward proxy (HTTP CONNECT) for this upstream; otherwise HTTPS_PROXY/NO_PROXY apply. */
  proxy: url.optional().describe('forward proxy (HTTP CONNECT) for this upstream; else `HTTPS_PROXY`/`NO_PROXY`'),
});

/** `/path`, `unix:///path` or `tcp://host:port`: the forms dockerode (docker-modem) can dial. */
const ENGINE_SOCKET = /^(\/\S+|unix:\/\/\/\S+|tcp:\/\/[^\s/:]+:\d{1,5})$/;

/** Which Mover stages images; see docs/engine-mover.md for what the engine mover gives up. */
export const moverSchema = z.strictObject({
  /** `registry` copies byte for byte (digests kept); `engine` pulls and pushes through a Docker daemon. @defaultValue 'registry' */
  type: z.enum(['registry', 'engine']).default('registry').describe('how images are staged: `registry` (byte for byte, digests kept) or `engine` (through a Docker daemon; the digest changes). See [Choosing a mover](#choosing-a-mover)'),
  /** The engine's API: a unix socket path (or `unix:///…`) or `tcp://host:port`. @defaultValue '/var/run/docker.sock' */
  engineSocket: z.string().regex(ENGINE_SOCKET, 'must be a unix socket path (/var/run/docker.sock, unix:///…) or tcp://host:port').default('/var/run/docker.sock').describe('engine only: the engine\'s API, a unix socket path (`unix:///…` too) or `tcp://host:port`; workers ping it at start and stop naming this key if it does not answer'),
  /** PEM CA bundle that signed the engine's TLS certificate (tcp:// only). */
  engineCaFile: z.string().min(1).optional().describe('engine over `tcp://` only: PEM CA bundle of the engine\'s TLS certificate'),
  /** PEM client certificate for the engine's TLS (tcp:// only, with `engineKeyFile`). */
  engineCertFile: z.string().min(1).optional().describe('engine over `tcp://` only: PEM client certificate and key (one without the other stops the process)'),
  /** PEM private key of `engineCertFile`. */
  engineKeyFile: z.string().min(1).optional().describe('engine over `tcp://` only: PEM client certificate and key (one without the other stops the process)'),
}).superRefine((m, ctx) => {
  // Half a client key pair would silently connect without client authentication: refuse it.
  if (m.engineCertFile && !m.engineKeyFile) ctx.addIssue({ code: 'custom', path: ['engineKeyFile'], message: 'must be set together with mover.engineCertFile' });
  if (m.engineKeyFile && !m.engineCertFile) ctx.addIssue({ code: 'custom', path: ['engineCertFile'], message: 'must be set together with mover.engineKeyFile' });
  // TLS files next to a unix socket would be ignored, and the operator would believe TLS is on.
  if (!m.engineSocket.startsWith('tcp://')) {
    for (const key of ['engineCaFile', 'engineCertFile', 'engineKeyFile'] as const) {
      if (m[key]) ctx.addIssue({ code: 'custom', path: [key], message: 'applies only to a tcp:// mover.engineSocket' });
    }
  }
});

const LOOPBACK_HOSTS = new Set(['127.0.0.1', 'localhost', '[::1]']);

/** A webhook endpoint: https, or plain http only to loopback (a local relay); never credentials in the URL. */
export const webhookSchema = z.strictObject({
  /** Unique name, shown in delivery records and used to re-enable an endpoint. */
  name: z.string().regex(/^[a-z0-9][a-z0-9-]{0,62}$/, 'lowercase letters, digits and -').describe('a unique name (lowercase letters, digits, `-`), shown in delivery records and used to re-enable the endpoint'),
  url: url.describe('an `https` URL (plain `http` only to loopback), no credentials in it').refine((u) => {
    const parsed = new URL(u);
    return !parsed.username && !parsed.password && (parsed.protocol === 'https:' || (parsed.protocol === 'http:' && LOOPBACK_HOSTS.has(parsed.hostname)));
  }, 'must be https (plain http only to a loopback relay), with no credentials in it'),
  /** Event types sent: exact (`approval.revoked`), a prefix (`approval.*`), or `*`. */
  events: z.array(z.string().regex(/^(\*|[a-z_]+(\.[a-z_]+)*(\.\*)?)$/, 'an event type, a prefix ending in .*, or *')).min(1).describe('event types sent: exact (`approval.revoked`), a prefix (`request.*`) or `*`; `drift` is short for `approval.drift`'),
  /** Environment variable holding the Standard Webhooks signing secret (`whsec_…` base64, 24–64 bytes). */
  secretEnv: z.string().regex(/^[A-Z_][A-Z0-9_]*$/, 'an environment variable name').describe('the environment variable holding the signing secret (`whsec_` + base64 of 24–64 bytes); unset or malformed stops the process'),
});

export const configSchema = z.strictObject({
  server: z.strictObject({
    host: z.string().default('127.0.0.1').describe('address the API listens on'),
    port: z.number().int().min(0).max(65535).default(8080).describe('API port (0 picks a free one)'),
    /** Maximum JSON body size for ordinary routes. */
    bodyLimit: z.string().default('1mb').describe('largest JSON body on ordinary routes (413 `BODY_TOO_LARGE` above)'),
    /** Maximum body size for code-scan (SARIF) uploads. */
    codeScanBodyLimit: z.string().default('20mb').describe('largest code-scan (SARIF) upload'),
    /** Requests per minute per principal. 0 disables the limit. */
    rateLimitPerMinute: z.number().int().min(0).default(600).describe('requests per minute per principal (0 = off); 429 `RATE_LIMITED` above'),
    /** PEM certificate (chain); the API serves HTTPS when this and `tlsKeyFile` are set. */
    tlsCertFile: z.string().min(1).optional().describe('PEM certificate and key; when both are set the API serves HTTPS itself (one without the other stops the process)'),
    /** PEM private key of `tlsCertFile`. */
    tlsKeyFile: z.string().min(1).optional().describe('PEM certificate and key; when both are set the API serves HTTPS itself (one without the other stops the process)'),
  }).superRefine((s, ctx) => {
    // Half a TLS setup would silently serve plain HTTP: refuse it, naming the missing key.
    if (s.tlsCertFile && !s.tlsKeyFile) ctx.addIssue({ code: 'custom', path: ['tlsKeyFile'], message: 'must be set together with server.tlsCertFile' });
    if (s.tlsKeyFile && !s.tlsCertFile) ctx.addIssue({ code: 'custom', path: ['tlsCertFile'], message: 'must be set together with server.tlsKeyFile' });
  }).prefault({}),
  redis: z.strictObject({
    url: z.string().default('redis://127.0.0.1:6379').describe('the store and job queue'),
    prefix: z.string().min(1).default('portcullis').describe('prefix of every key and queue, so two instances can share one Redis'),
    /** Redis Sentinel addresses; when set, every connection (BullMQ included) asks them for the primary. @defaultValue [] */
    sentinels: z.array(z.strictObject({ host: z.string().min(1).describe('a sentinel\'s host'), port: z.number().int().min(1).max(65535).describe('its port') })).default([]).describe('Redis Sentinel addresses (`[{host, port}]`); every connection, BullMQ included, follows the primary they name'),
    /** The name the sentinels monitor the primary under; required with `sentinels`. */
    sentinelName: z.string().min(1).optional().describe('the primary\'s name as the sentinels monitor it (required with `redis.sentinels`)'),
    /** Deadline of each store/API command: past it the API answers 503 DEPENDENCY_UNAVAILABLE. @defaultValue 1500 */
    commandTimeoutMs: z.number().int().min(100).max(60_000).default(1500).describe('deadline of each API/store command; past it the API answers 503 `DEPENDENCY_UNAVAILABLE`'),
    /** Replicas that must acknowledge a critical write (Redis WAIT); 0 skips the check. @defaultValue 0 */
    replicasToAck: z.number().int().min(0).max(16).default(0).describe('replicas that must acknowledge a critical write (Redis `WAIT`) before it is reported done; 0 = off'),
    /** How long to wait for those acknowledgements; below `commandTimeoutMs`. @defaultValue 500 */
    replicaAckTimeoutMs: z.number().int().min(1).default(500).describe('how long to wait for them (below `redis.commandTimeoutMs`)'),
  }).superRefine((r, ctx) => {
    if (r.sentinels.length > 0 && !r.sentinelName) ctx.addIssue({ code: 'custom', path: ['sentinelName'], message: 'must be set together with redis.sentinels' });
    if (r.sentinelName && r.sentinels.length === 0) ctx.addIssue({ code: 'custom', path: ['sentinels'], message: 'must list at least one sentinel when redis.sentinelName is set' });
    // WAIT runs on a connection with a command deadline: a longer WAIT would always time out.
    if (r.replicaAckTimeoutMs >= r.commandTimeoutMs) ctx.addIssue({ code: 'custom', path: ['replicaAckTimeoutMs'], message: 'must be below redis.commandTimeoutMs' });
  }).prefault({}),
  internalRegistry: z.strictObject({
    url: url.default('http://127.0.0.1:5000').describe('the internal registry (quarantine and approved images)'),
    username: z.string().optional().describe('its credentials (use the environment)'),
    password: z.string().optional().describe('its credentials (use the environment)'),
    insecure: z.boolean().default(false).describe('skip TLS verification (test setups only)'),
    caFile: z.string().optional().describe('PEM bundle of CAs trusted for it'),
    /** Host name CI and clusters use in pulls; defaults to the host of `url`. */
    publicHost: z.string().optional().describe('host name CI and clusters pull from, used in `internalRef`'),
    quarantinePrefix: z.string().min(1).default('quarantine').describe('staged images live at `{quarantinePrefix}/{registry}/{repository}`, by digest, never tagged'),
    approvedPath: z.string().min(1).default('approved/{team}/{registry}/{repository}').describe('where approved images are promoted'),
  }).prefault({}),
  upstreams: z.array(upstreamSchema).default([]).describe('registries that may be pulled from; any other registry fails with `UPSTREAM_NOT_ALLOWED`'),
  auth: authConfigSchema,
  worker: z.strictObject({
    /**
     * Jobs processed at once per worker process. 4: a job waits on the network (the upstream, the
     * internal registry, Redis) as much as it computes, and scans run in threads, so that with 2 a
     * 2-core machine stayed partly idle under a burst (bench:pipeline, 2 processes, 200 requests of
     * 8 MiB, same runs: medians 615 requests a minute with 2, 691 with 4, at the same CPU per
     * request and ~15 MiB more peak RSS per process). More than that gained nothing measurable.
     */
    concurrency: z.number().int().min(1).max(64).default(4).describe('jobs one worker process runs at once (staging waits on the network, scans run in threads: 4 keeps 2 cores busy under a burst)'),
    /**
     * How long a worker holds a job's lock between renewals (BullMQ renews it every half of
     * this from the event loop); a killed worker's job is taken over after it lapses. 10 s, as
     * the step lease: with `stalledIntervalMs` a killed worker's job runs again within 15 s of
     * its death instead of BullMQ's 30 s + 30 s, while an event loop would have to stall 5 s
     * (scans run in threads) before a live job is handed out twice (its step lease still stops
     * a second run).
     */
    lockDurationMs: z.number().int().min(1000).default(10000).describe('how long a worker holds a job\'s lock between renewals (renewed every half of it); a killed worker\'s job is taken over after it lapses, within `lockDurationMs` + `stalledIntervalMs` of its death'),
    /** How often workers look for jobs whose lock expired (stalled jobs) and hand them back; at most `lockDurationMs`. */
    stalledIntervalMs: z.number().int().min(500).default(5000).describe('how often workers look for stalled jobs (expired locks) and hand them back to the queue; at most `lockDurationMs`'),
    /**
     * How long a pipeline step's lease (one run at a time per step of a request) outlives its
     * holder: renewed from a thread of its own several times within it, so a killed worker's step
     * is taken over this long after its death; a worker whose main thread is stalled keeps it for
     * three `lockDurationMs`.
     */
    stepLeaseMs: z.number().int().min(1000).max(600_000).default(10_000).describe('how long the lease of a pipeline step, a rescan run or a vulnerability-data sync outlives a killed worker (renewed from its own thread; a worker whose event loop is stalled keeps it for 3 × `lockDurationMs`)'),
    /**
     * Threads that run builtin scans (decompression, tar parsing, inventory, hardening), shared
     * by every scan job of the process. `auto`: one per core the process may use (its CPU affinity, bounded by a cgroup CPU quota such as a Kubernetes CPU limit: lib/cpus.ts).
     */
    scanThreads: z.union([z.literal('auto'), z.number().int().min(1).max(256)]).default('auto').describe('threads running builtin scans (decompression, tar parsing, inventory, hardening), shared by the process\'s scan jobs; `auto` = one per core the process may use (a cgroup CPU quota, such as a Kubernetes CPU limit, counts); several worker processes sharing cores without a quota each: about cores / processes (2 processes on 2 cores with 1 each gave 1.08x the throughput of `auto` in bench:pipeline)'),
    /** Heap of one scan thread, in MiB; a scan that needs more fails alone with SCAN_LIMIT_EXCEEDED. */
    scanThreadMemoryMb: z.number().int().min(32).max(16384).default(384).describe('heap of one scan thread (MiB); a scan needing more fails alone with `SCAN_LIMIT_EXCEEDED`, not retried'),
    scanTimeoutMs: z.number().int().min(1000).max(86_400_000).default(1_800_000).describe('longest a builtin scan of one platform image may take, layer reads included (ms); past it the scan fails with `SCAN_LIMIT_EXCEEDED`, not retried, and its thread is stopped and replaced'),
    /**
     * The worker that staged an image scans it in the same job, under the scan's own lease,
     * reading the layers it just uploaded from memory (`copy.keepStagedMb`); queued as a job of
     * its own, the scan would often run in another process and read them back from the registry.
     */
    scanAfterStage: z.boolean().default(true).describe('the worker that staged an image scans it in the same job (its layers still in memory, `copy.keepStagedMb`); if that scan cannot run or fails there, it is queued as its own job; false = every step is a job of its own'),
  }).superRefine((w, ctx) => {
    // Also the upload journal: sessions are renewed every stalledIntervalMs and lapse after 3 × lockDurationMs.
    if (w.stalledIntervalMs > w.lockDurationMs) ctx.addIssue({ code: 'custom', path: ['stalledIntervalMs'], message: 'must be at most worker.lockDurationMs' });
  }).prefault({}),
  /** Scanner adapters run on every staged image, in order; `[]` leaves the decision to approvers alone. */
  scanners: scannersConfigSchema.describe('scanner adapters run on every staged image, in order; `[]` is allowed (warning at start)'),
  /** How staging and scanning treat index children (see src/registry/children.ts). */
  scanning: scanningConfigSchema.prefault({}),
  /** Bounds on code-scan (SARIF) evidence; over them an upload is refused (413 CODE_SCAN_TOO_LARGE). */
  codeScans: codeScansConfigSchema.prefault({}),
  policy: policyConfigSchema.extend({
    approvals: z.strictObject({
      /** Distinct approvers (none of them the requester) needed before promotion. */
      required: z.number().int().min(1).max(10).default(1).describe('distinct approvers needed; the requester never counts (four-eyes)'),
      /**
       * The approvers of one request must come from distinct identity-provider groups (those that
       * make them approvers); an approver in no such group is refused when more than one is required.
       */
      distinctGroups: z.boolean().default(false)
        .describe('approvers of one request must come from distinct identity-provider groups (those of `auth.oidc` that make them approvers or admins); an approver in none, or sharing one with an earlier approver, is refused with 403 `FOUR_EYES_GROUPS`'),
    }).prefault({}),
  }).prefault({}),
  copy: z.strictObject({
    /** Blobs copied in parallel per image. */
    jobs: z.number().int().min(1).max(32).default(4).describe('blobs copied in parallel per image'),
    retries: z.number().int().min(0).max(20).default(5).describe('retries of a temporary failure per blob (backoff with jitter)'),
    /**
     * Blobs just staged, kept in the worker's memory (registry/staged-blobs.ts) so that the scan
     * that follows reads them without a second trip to the registry. What is kept is a copy
     * made as the blob was verified against its digest while staging (the copy is what was
     * hashed), so it is read without a second hash. A blob bigger than a third of this streams as before.
     */
    keepStagedMb: z.number().int().min(0).max(8192).default(96).describe('MiB of just-staged blobs a worker keeps in memory for the scan that follows (a copy of the bytes made and hashed as they were verified against their digest while staging, so the scan reads them without hashing again; a blob over a third of it is not kept), and the manifests of the staged image it just wrote by digest; what is not read within 2 minutes is dropped, also while the worker is idle; 0 = off'),
  }).prefault({}),
  mover: moverSchema.prefault({}),
  audit: auditConfigSchema,
  retention: z.strictObject({
    /** Days after a rejected or failed request ended before its quarantine manifest is deleted. */
    quarantineDays: z.number().int().min(1).max(3650).default(30).describe('days after a rejected or failed request ended before its quarantine manifest is deleted (kept while another request still needs it)'),
    /** Days after a rejected, failed or revoked request ended before its record is deleted (approved ones stay). */
    requestDays: z.number().int().min(1).max(36500).default(365).describe('days after a rejected, failed or revoked request ended before its record is deleted; approved requests and images stay until revoked'),
    /** How often the retention job runs. */
    intervalMinutes: z.number().int().min(1).max(10080).default(60).describe('how often the retention job runs (each deletion is audited)'),
  }).prefault({}),
  notifications: z.strictObject({
    /** The CloudEvents `source` of every event sent. */
    source: z.string().min(1).default('urn:portcullis').describe('the CloudEvents `source` of every event sent'),
    /** Signed webhooks (CloudEvents 1.0 JSON bodies, Standard Webhooks signatures). */
    webhooks: z.array(webhookSchema).default([]).superRefine((hooks, ctx) => {
      const seen = new Set<string>();
      hooks.forEach((h, i) => {
        if (seen.has(h.name)) ctx.addIssue({ code: 'custom', path: [i, 'name'], message: `duplicate webhook name ${h.name}` });
        seen.add(h.name);
      });
    }).describe('signed webhooks: `{name, url, events, secretEnv}` each (see [Events out](#events-out-webhooks-and-metrics))'),
    /** First retry delay of a failed delivery; later ones grow to 8 h, about 24 h of retries in all. */
    retryBaseMs: z.number().int().min(10).default(5000).describe('first retry of a failed delivery; later ones grow to 8 h, about 24 h of retries in all'),
  }).prefault({}),
  /** After approval: health (grace, automatic revocation), upstream drift, daily snapshots (src/monitor). */
  monitor: monitorConfigSchema,
  metrics: z.strictObject({
    /** Serve Prometheus metrics on their own listener in every process. */
    enabled: z.boolean().default(true).describe('serve Prometheus metrics on a listener of their own in every process'),
    host: z.string().default('127.0.0.1').describe('where (`PORTCULLIS_METRICS_PORT` overrides the port, e.g. for a second process on one host; `0` picks a free one)'),
    /** Port of the metrics listener (0 picks a free port). */
    port: z.number().int().min(0).max(65535).default(9464).describe('where (`PORTCULLIS_METRICS_PORT` overrides the port, e.g. for a second process on one host; `0` picks a free one)'),
    /** Bearer token scrapers must send; from PORTCULLIS_METRICS_TOKEN. Unset: no token asked. */
    token: z.string().min(16).optional().describe('bearer token scrapers must send (from `PORTCULLIS_METRICS_TOKEN`); unset: none asked'),
  }).prefault({}),
  webhook: z.strictObject({
    /** Address of the admission webhook (`--role webhook`); HTTPS only. */
    host: z.string().default('127.0.0.1').describe('where the admission webhook (`--role webhook`) listens, HTTPS only'),
    port: z.number().int().min(0).max(65535).default(8443).describe('where the admission webhook (`--role webhook`) listens, HTTPS only'),
    /** PEM certificate (chain) the API server trusts (cert-manager in the cluster); required for the webhook role. */
    tlsCertFile: z.string().min(1).optional().describe('PEM certificate and key the API server trusts; the webhook role refuses to start without them'),
    /** PEM private key of `tlsCertFile`. */
    tlsKeyFile: z.string().min(1).optional().describe('PEM certificate and key the API server trusts; the webhook role refuses to start without them'),
    /** Namespace (or glob: `payments-*`) → team. A namespace that maps to no team is denied. */
    namespaces: z.record(z.string().regex(/^[a-z0-9*?]([-a-z0-9*?]{0,61}[a-z0-9*?])?$/, 'a namespace name or glob'), z.string().min(1)).default({}).describe('namespace or glob (`payments-*`) → team; a namespace mapping to no team is denied'),
    /** Namespaces (or globs) never checked, only recorded. */
    exempt: z.array(z.string().min(1)).default(['kube-system', 'portcullis']).describe('namespaces (or globs) never checked, only recorded'),
    /** Full reload of the approved set, also its heartbeat. */
    resyncMs: z.number().int().min(1000).default(30000).describe('full reload of each replica\'s in-memory approved set, also its heartbeat (revocations arrive at once by pub/sub)'),
    /** How long a replica that lost the ledger keeps admitting from its last view before denying Pods. */
    maxStalenessMs: z.number().int().min(1000).default(300000).describe('how long a replica that lost Redis admits from its last view before denying Pods (fail closed)'),
    /** The admission ledger (where each digest was admitted): buffered in the replica, written to Redis in batches. */
    ledger: z.strictObject({
      bufferSize: z.number().int().min(100).max(1000000).default(10000)
        .describe('admission records a replica holds while Redis is slow or away; beyond, new ones are dropped and counted (`portcullis_admission_records_total{outcome="dropped"}`), never waited for'),
      batchSize: z.number().int().min(1).max(10000).default(500).describe('admission records per write'),
      flushMs: z.number().int().min(50).max(60000).default(1000).describe('interval of the admission-ledger writes (ms)'),
      sampleMs: z.number().int().min(0).default(300000).describe('at most one record of identical allows per (namespace, workload, digest) per this long (ms)'),
      retentionDays: z.number().int().min(1).max(400).default(30)
        .describe('how long a workload counts as running a digest after its last admission (`GET /v1/images/{digest}/workloads`)'),
    }).prefault({}),
  }).superRefine((w, ctx) => {
    if (w.tlsCertFile && !w.tlsKeyFile) ctx.addIssue({ code: 'custom', path: ['tlsKeyFile'], message: 'must be set together with webhook.tlsCertFile' });
    if (w.tlsKeyFile && !w.tlsCertFile) ctx.addIssue({ code: 'custom', path: ['tlsCertFile'], message: 'must be set together with webhook.tlsKeyFile' });
  }).prefault({}),
  ui: z.strictObject({
    enabled: z.boolean().default(true).describe("serve the web console at `/ui` on the API's port"),
    idleMinutes: z.number().int().min(1).max(1440).default(30).describe('minutes without a request after which a console session ends'),
    lifetimeHours: z.number().int().min(1).max(168).default(12).describe('hours after sign-in after which a console session ends, used or not'),
    /** Console pages, fragments and form posts per signed-in principal per minute (0 = off). @defaultValue 300 */
    rateLimitPerMinute: z.number().int().min(0).default(300).describe('console pages, fragments and form posts per minute per signed-in principal (0 = off); above: a 429 page with `Retry-After`'),
    /** Sign-in attempts (right token or wrong) per client address per minute (0 = off). @defaultValue 20 */
    signInPerMinute: z.number().int().min(0).default(20).describe('console sign-in attempts per minute per client address, whatever the token (0 = off); above: 429 with `Retry-After` (failed ones also count against `server.rateLimitPerMinute`)'),
  }).prefault({}),
  log: z.strictObject({
    level: z.enum(['fatal', 'error', 'warn', 'info', 'debug', 'trace', 'silent']).default('info').describe('`fatal`, `error`, `warn`, `info`, `debug`, `trace` or `silent`'),
  }).prefault({}),
});

export type Config = z.infer<typeof configSchema>;
export type MoverConfig = z.infer<typeof moverSchema>;
export type UpstreamConfig = z.infer<typeof upstreamSchema>;
