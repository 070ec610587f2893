/**
 * The OpenAPI 3.1 document of the service, served at /openapi.json. A test checks that its
 * paths and express's routes are the same set, so the two cannot drift apart.
 */
import { identityPaths, identitySchemas } from './openapi-identity';

const ref = (name: string) => ({ $ref: `#/components/schemas/${name}` });
const json = (schema: unknown) => ({ content: { 'application/json': { schema } } });
const errors = (...statuses: number[]) => Object.fromEntries(statuses.map((s) => [String(s), { description: 'error', ...json(ref('Error')) }]));
const page = (item: string) => ({ type: 'object', required: ['items', 'next'], properties: { items: { type: 'array', items: ref(item) }, next: { type: ['string', 'null'] } } });
const q = (name: string, schema: unknown, required = false, description?: string) => ({ name, in: 'query', required, schema, ...(description ? { description } : {}) });
const idParam = { name: 'id', in: 'path', required: true, schema: { type: 'string' } };
const limitParam = q('limit', { type: 'integer', minimum: 1, maximum: 200, default: 50 });
const cursorParam = q('cursor', { type: 'string' }, false, 'the `next` of the previous page');
const statuses = ['requested', 'resolving', 'staging', 'scanning', 'awaiting_approval', 'promoting', 'approved', 'rejected', 'failed', 'revoked'];
const secured = { security: [{ bearer: [] }] };

export const openApiDocument = {
  openapi: '3.1.0',
  info: { title: 'Portcullis', version: '1.0.0', description: 'Image intake and registry gatekeeper: request, scan, approve, promote by digest.' },
  components: {
    securitySchemes: { bearer: { type: 'http', scheme: 'bearer' } },
    schemas: {
      ...identitySchemas,
      Error: { type: 'object', required: ['error'], properties: { error: { type: 'object', required: ['code', 'message'], properties: { code: { type: 'string' }, message: { type: 'string' }, details: { type: 'object' } } } } },
      Severity: { type: 'object', properties: Object.fromEntries(['critical', 'high', 'medium', 'low', 'unknown'].map((s) => [s, { type: 'integer' }])) },
      Request: {
        type: 'object',
        required: ['id', 'image', 'team', 'requestedBy', 'justification', 'status', 'createdAt', 'updatedAt', 'source', 'platforms', 'scans', 'codeScans', 'policy', 'waivers', 'decisions', 'internalRef', 'error', 'history'],
        properties: {
          id: { type: 'string' }, image: { type: 'string' }, team: { type: 'string' }, requestedBy: { type: 'string' }, justification: { type: 'string' },
          status: { type: 'string', enum: statuses }, createdAt: { type: 'string', format: 'date-time' }, updatedAt: { type: 'string', format: 'date-time' },
          source: { type: 'object', properties: { registry: { type: 'string' }, repository: { type: 'string' }, tag: { type: 'string' }, digest: { type: 'string' } } },
          platforms: { type: 'array', items: { type: 'string' } },
          stagedDigest: { type: 'string', description: 'the digest the internal registry serves, set by staging: what is scanned, approved and pulled. Equals source.digest (the upstream digest asked for) for byte-for-byte copies; differs when a platform was selected out of an index or the mover re-encodes (Docker Engine mover)' },
          scans: { type: 'array', items: ref('ScanReport') },
          codeScans: { type: 'array', items: ref('CodeScan') },
          policy: { type: ['object', 'null'], properties: { verdict: { type: 'string', enum: ['pass', 'warn', 'fail'] }, reasons: { type: 'array', items: { type: 'string' } }, blocking: { type: 'array', items: { type: 'string' }, description: 'ids of the findings a waiver must cover' } } },
          waivers: { type: 'array', items: ref('Waiver') },
          decisions: { type: 'array', items: { type: 'object', properties: { by: { type: 'string' }, decision: { type: 'string', enum: ['approve', 'reject'] }, comment: { type: 'string' }, at: { type: 'string' } } } },
          internalRef: { type: ['string', 'null'] },
          error: { type: ['object', 'null'], properties: { code: { type: 'string' }, message: { type: 'string' } } },
          history: { type: 'array', items: { type: 'object', properties: { status: { type: 'string' }, at: { type: 'string' }, by: { type: 'string' }, note: { type: 'string' } } } },
        },
      },
      CodeScan: {
        type: 'object', required: ['id', 'tool', 'uploadedBy', 'uploadedAt', 'summary', 'findings', 'findingsTotal', 'grouped'],
        description: 'One SARIF run. With more findings than fit on the request, `findings` holds one per rule id and severity (`grouped`), and `findingsTotal` the count uploaded.',
        properties: {
          id: { type: 'string' }, tool: { type: 'string' }, toolVersion: { type: 'string' }, uploadedBy: { type: 'string' }, uploadedAt: { type: 'string', format: 'date-time' },
          summary: ref('Severity'), findings: { type: 'array', items: { type: 'object' } }, findingsTotal: { type: 'integer' }, grouped: { type: 'boolean' },
          upload: { type: 'object', description: 'the SARIF log this run came from (GET /v1/requests/{id}/code-scans/{sha256}) and its index in it', properties: { sha256: { type: 'string' }, bytes: { type: 'integer' }, run: { type: 'integer' } } },
        },
      },
      CodeScanUpload: {
        type: 'object', required: ['sha256', 'bytes', 'runs', 'alreadyAttached'],
        properties: { sha256: { type: 'string' }, bytes: { type: 'integer' }, runs: { type: 'integer' }, alreadyAttached: { type: 'boolean' } },
      },
      Finding: {
        type: 'object', required: ['id', 'aliases', 'kind', 'severity', 'title', 'links'],
        properties: {
          id: { type: 'string' }, aliases: { type: 'array', items: { type: 'string' } }, kind: { type: 'string', enum: ['vulnerability', 'misconfiguration', 'code', 'coverage'] },
          package: { type: 'string' }, ecosystem: { type: 'string' }, installedVersion: { type: 'string' }, fixedVersion: { type: 'string' },
          severity: { type: 'string', enum: ['critical', 'high', 'medium', 'low', 'unknown'] },
          cvss: { type: 'object', properties: { version: { type: 'string' }, vector: { type: 'string' }, score: { type: ['number', 'null'] } } },
          title: { type: 'string' }, links: { type: 'array', items: { type: 'string' } }, layer: { type: 'string' }, path: { type: 'string' },
          platform: { type: 'string', description: 'for a multi-platform image: the platform image(s) the finding was seen in, e.g. linux/arm64' },
        },
      },
      ScanReport: {
        type: 'object', required: ['scanner', 'status', 'summary', 'findings', 'startedAt', 'finishedAt'],
        description: 'One scanner on the digest; a stored report is reused (same startedAt) while the scanner\'s dbVersion is unchanged.',
        properties: {
          scanner: { type: 'string' }, status: { type: 'string', enum: ['succeeded', 'failed'] }, summary: ref('Severity'), findings: { type: 'array', items: ref('Finding') },
          startedAt: { type: 'string', format: 'date-time' }, finishedAt: { type: 'string', format: 'date-time' }, dbVersion: { type: 'string' },
          error: { type: 'object', properties: { code: { type: 'string' }, message: { type: 'string' } } },
        },
      },
      Waiver: {
        type: 'object', required: ['findingId', 'reason', 'expires', 'by', 'at'],
        properties: { findingId: { type: 'string' }, reason: { type: 'string' }, expires: { type: 'string', format: 'date-time' }, by: { type: 'string' }, at: { type: 'string', format: 'date-time' } },
      },
      ApprovedImage: { type: 'object', required: ['image', 'digest', 'internalRef', 'team', 'approvedAt', 'approvedBy'], properties: { image: { type: 'string' }, digest: { type: 'string' }, internalRef: { type: 'string' }, team: { type: 'string' }, approvedAt: { type: 'string' }, approvedBy: { type: 'array', items: { type: 'string' } } } },
      Delivery: {
        type: 'object', required: ['id', 'endpoint', 'type', 'subject', 'attempt', 'outcome', 'at'],
        properties: {
          id: { type: 'string', description: 'CloudEvent id = webhook-id, the same at every attempt' }, endpoint: { type: 'string' }, type: { type: 'string' },
          subject: { type: 'string' }, team: { type: 'string' }, attempt: { type: 'integer' },
          outcome: { type: 'string', enum: ['delivered', 'retrying', 'failed', 'disabled'] }, status: { type: 'integer' }, error: { type: 'string' }, at: { type: 'string', format: 'date-time' },
        },
      },
      AuditEntry: { type: 'object', properties: { seq: { type: 'integer' }, at: { type: 'string' }, actor: { type: 'string' }, action: { type: 'string' }, target: { type: 'string' }, details: { type: 'object' }, prevHash: { type: 'string' }, keyId: { type: 'string' }, hash: { type: 'string' } } },
    },
  },
  paths: {
    ...identityPaths,
    '/healthz': { get: { summary: 'The process is up', responses: { 200: { description: 'up' } } } },
    '/readyz': { get: { summary: 'Every dependency answers', responses: { 200: { description: 'ready' }, 503: { description: 'a dependency is down' } } } },
    '/openapi.json': { get: { summary: 'This document', responses: { 200: { description: 'OpenAPI 3.1' } } } },
    '/v1/requests': {
      post: {
        ...secured, summary: 'Request an external image for a team (developer)',
        requestBody: { required: true, ...json({ type: 'object', additionalProperties: false, required: ['image', 'team', 'justification'], properties: { image: { type: 'string' }, team: { type: 'string' }, justification: { type: 'string' }, platforms: { type: 'array', items: { type: 'string' } } } }) },
        responses: { 202: { description: 'accepted (or an in-flight request for the same image)', ...json(ref('Request')) }, 200: { description: 'the digest is already approved', ...json(ref('Request')) }, ...errors(400, 401, 403, 413, 415, 429) },
      },
      get: {
        ...secured, summary: "List requests of the caller's teams, newest first",
        parameters: [q('status', { type: 'string', enum: statuses }), q('team', { type: 'string' }), limitParam, cursorParam],
        responses: { 200: { description: 'a page', ...json(page('Request')) }, ...errors(400, 401, 403) },
      },
    },
    '/v1/requests/{id}': { get: { ...secured, summary: 'One request', parameters: [idParam], responses: { 200: { description: 'the request', ...json(ref('Request')) }, ...errors(401, 403, 404) } } },
    '/v1/requests/{id}/approve': {
      post: {
        ...secured, summary: 'Approve (approver/admin, not the requester)', parameters: [idParam],
        requestBody: { ...json({ type: 'object', additionalProperties: false, properties: { comment: { type: 'string' } } }) },
        description: 'The policy verdict is evaluated again with the current waivers and code scans; a failing one answers 409 WAIVERS_REQUIRED with `error.details.blocking` (finding ids to waive).',
        responses: { 202: { description: 'promotion queued', ...json(ref('Request')) }, 200: { description: 'recorded; more approvers needed', ...json(ref('Request')) }, ...errors(400, 401, 403, 404, 409) },
      },
    },
    '/v1/requests/{id}/reject': {
      post: {
        ...secured, summary: 'Reject (approver/admin, not the requester)', parameters: [idParam],
        requestBody: { required: true, ...json({ type: 'object', additionalProperties: false, required: ['reason'], properties: { reason: { type: 'string' } } }) },
        responses: { 200: { description: 'rejected', ...json(ref('Request')) }, ...errors(400, 401, 403, 404, 409) },
      },
    },
    '/v1/requests/{id}/code-scans': {
      post: {
        ...secured, summary: "Attach code-scan evidence, a SARIF 2.1.0 log (developer of the request's team, or admin); any state but a terminal one", parameters: [idParam],
        requestBody: { required: true, description: 'up to server.codeScanBodyLimit and the codeScans.* bounds (413 CODE_SCAN_TOO_LARGE naming the key); application/json or application/sarif+json', ...json({ type: 'object', required: ['version', 'runs'], properties: { version: { const: '2.1.0' }, runs: { type: 'array', minItems: 1, items: { type: 'object' } } } }) },
        responses: {
          201: { description: 'stored: one `codeScans` entry per run; `upload` names the log by sha256', ...json({ allOf: [ref('Request'), { type: 'object', properties: { upload: ref('CodeScanUpload') } }] }) },
          200: { description: 'this log (same sha256) was already attached: nothing changed, `upload.alreadyAttached` is true', ...json({ allOf: [ref('Request'), { type: 'object', properties: { upload: ref('CodeScanUpload') } }] }) },
          ...errors(400, 401, 403, 404, 409, 413, 415, 503),
        },
      },
    },
    '/v1/requests/{id}/code-scans/{sha256}': {
      get: {
        ...secured, summary: 'The original SARIF log of one upload, byte for byte (readers of the request)',
        parameters: [idParam, { name: 'sha256', in: 'path', required: true, schema: { type: 'string', pattern: '^[0-9a-f]{64}$' } }],
        responses: { 200: { description: 'the log', content: { 'application/sarif+json': { schema: { type: 'object' } } } }, ...errors(400, 401, 403, 404) },
      },
    },
    '/v1/requests/{id}/waivers': {
      post: {
        ...secured, summary: 'Waive one finding until an expiry (approver/admin of the team, not the requester: 403 FOUR_EYES); the verdict is evaluated again', parameters: [idParam],
        requestBody: { required: true, ...json({ type: 'object', additionalProperties: false, required: ['findingId', 'reason', 'expires'], properties: { findingId: { type: 'string', description: 'a finding id or alias of this request' }, reason: { type: 'string' }, expires: { type: 'string', description: 'ISO 8601 date or date-time, in the future' } } }) },
        responses: { 201: { description: 'granted; the request with its new verdict', ...json(ref('Request')) }, ...errors(400, 401, 403, 404, 409) },
      },
    },
    '/v1/queue': { get: { ...secured, summary: 'Requests awaiting approval that the caller may decide, oldest first', parameters: [limitParam, cursorParam], responses: { 200: { description: 'a page', ...json(page('Request')) }, ...errors(401, 403) } } },
    '/v1/approved': {
      get: {
        ...secured, summary: 'With image: the approved internal reference of an image for a team (and platform set); without: the team\'s approved inventory, newest first',
        parameters: [
          q('image', { type: 'string' }, false, 'tag or digest reference; absent = list the inventory'), q('team', { type: 'string' }, true),
          q('platform', { type: 'array', items: { type: 'string' } }, false, 'platform set of a platform-selected approval, repeated or a comma list'),
          limitParam, cursorParam,
        ],
        responses: { 200: { description: 'approved (text/plain: the bare reference; errors are text too)', content: { 'application/json': { schema: ref('ApprovedImage') }, 'text/plain': { schema: { type: 'string' } } } }, ...errors(400, 401, 403, 404) },
      },
    },
    '/v1/approved/resolve': {
      post: {
        ...secured, summary: "Resolve a deployment's images at once",
        requestBody: { required: true, ...json({ type: 'object', additionalProperties: false, required: ['team', 'images'], properties: { team: { type: 'string' }, images: { type: 'array', items: { type: 'string' } } } }) },
        responses: { 200: { description: 'one result per image', ...json({ type: 'object', properties: { results: { type: 'array', items: { type: 'object' } } } }) }, ...errors(400, 401, 403) },
      },
    },
    '/v1/approvals/revoke': {
      post: {
        ...secured, summary: 'Revoke a digest (every name) or an image (one name) for a team: ledger first, registry delete queued, deny-list (admin)',
        requestBody: { required: true, ...json({ type: 'object', additionalProperties: false, required: ['team', 'reason'], properties: { digest: { type: 'string' }, image: { type: 'string' }, team: { type: 'string' }, platforms: { type: 'array', items: { type: 'string' } }, reason: { type: 'string' } } }) },
        responses: { 200: { description: 'revoked', ...json({ type: 'object' }) }, ...errors(400, 401, 403, 404) },
      },
    },
    '/v1/approvals/unrevoke': {
      post: {
        ...secured, summary: 'Lift a revocation from the team\'s deny-list (admin, audited)',
        requestBody: { required: true, ...json({ type: 'object', additionalProperties: false, required: ['digest', 'team', 'reason'], properties: { digest: { type: 'string' }, image: { type: 'string' }, team: { type: 'string' }, reason: { type: 'string' } } }) },
        responses: { 200: { description: 'the revocation lifted', ...json({ type: 'object' }) }, ...errors(400, 401, 403, 404) },
      },
    },
    '/v1/images/{digest}/sbom': {
      get: {
        ...secured, summary: 'The CycloneDX 1.6 SBOM of a scanned digest (readers of a team with a request or approval for it; others 404)',
        parameters: [{ name: 'digest', in: 'path', required: true, schema: { type: 'string', pattern: '^sha256:[a-f0-9]{64}$' } }],
        responses: { 200: { description: 'the SBOM', content: { 'application/vnd.cyclonedx+json': { schema: { type: 'object' } } } }, ...errors(400, 401, 404) },
      },
    },
    '/v1/scanners': {
      get: {
        ...secured, summary: 'Each scanner with its vulnerability data version, last sync, age and sync status (any authenticated reader)',
        responses: { 200: { description: 'the scanners', ...json({ type: 'object', properties: { items: { type: 'array', items: { type: 'object' } } } }) }, ...errors(401) },
      },
    },
    '/v1/whoami': {
      get: {
        ...secured, summary: 'The caller: name, roles, teams and where the identity came from (any role)',
        responses: { 200: { description: 'the caller', ...json({ type: 'object', required: ['name', 'roles', 'teams', 'source'], properties: { name: { type: 'string' }, roles: { type: 'array', items: { type: 'string' } }, teams: { type: 'array', items: { type: 'string' } }, source: { type: 'string' } } }) }, ...errors(401) },
      },
    },
    '/v1/notifications/deliveries': {
      get: {
        ...secured, summary: 'Webhook delivery attempts, newest first (admin/auditor, within their teams)',
        parameters: [q('endpoint', { type: 'string' }), limitParam, q('cursor', { type: 'string' }, false, '`next` of the previous page')],
        responses: { 200: { description: 'a page', ...json(page('Delivery')) }, ...errors(400, 401, 403, 429, 503) },
      },
    },
    '/v1/notifications/endpoints/{name}/enable': {
      post: {
        ...secured, summary: 'Deliver to an endpoint again after it answered 410 Gone (admin of every team)',
        parameters: [{ name: 'name', in: 'path', required: true, schema: { type: 'string' } }],
        responses: { 200: { description: 'enabled', ...json({ type: 'object', properties: { endpoint: { type: 'string' }, enabled: { type: 'boolean' }, wasDisabled: { type: 'boolean' } } }) }, ...errors(401, 403, 404, 429, 503) },
      },
    },
    '/v1/audit': {
      get: {
        ...secured, summary: "The audit log (auditor/admin), within the caller's teams; a page may hold fewer than `limit` entries while `next` is not null",
        parameters: [q('after', { type: 'integer', minimum: 0 }), q('limit', { type: 'integer', minimum: 1, maximum: 1000 })],
        responses: { 200: { description: 'entries after `after`', ...json({ type: 'object', properties: { items: { type: 'array', items: ref('AuditEntry') }, next: { type: ['integer', 'null'] } } }) }, ...errors(401, 403) },
      },
    },
  },
} as const;
