/** The OpenAPI paths and schemas of admission: namespaces, break-glass exceptions, workloads of a digest (spread into openapi.ts). */
const ref = (name: string) => ({ $ref: `#/components/schemas/${name}` });
const json = (schema: unknown) => ({ content: { 'application/json': { schema } } });
const errors = (...statuses: number[]) => Object.fromEntries(statuses.map((s) => [String(s), { description: 'error', ...json(ref('Error')) }]));
const secured = { security: [{ bearer: [] }] };
const str = { type: 'string' };
const time = { type: 'string', format: 'date-time' };

export const admissionSchemas = {
  Exception: {
    type: 'object', required: ['id', 'team', 'reason', 'expires', 'by', 'at', 'active'],
    properties: {
      id: { type: 'string', pattern: '^[a-f0-9]{16}$' }, team: str, image: { type: 'string', description: 'registry/repository' }, tag: str,
      digest: str, namespace: str, reason: str, expires: time, by: str, at: time, active: { type: 'boolean', description: 'not yet expired (by the server clock)' },
    },
  },
  Workload: {
    type: 'object', required: ['team', 'namespace', 'kind', 'name', 'image', 'lastSeen'],
    properties: { team: str, namespace: str, kind: { type: 'string', description: 'a Pod\'s controlling owner (ReplicaSet → Deployment), else the admitted kind' }, name: str, image: str, lastSeen: time },
  },
};

export const admissionPaths = {
  '/v1/namespaces': {
    get: {
      ...secured, summary: 'The namespace → team map the admission webhooks enforce (entries of the caller\'s teams; all for auditors and `*`), and the exempt namespaces',
      responses: {
        200: { description: 'the map', ...json({ type: 'object', required: ['namespaces', 'exempt'], properties: { namespaces: { type: 'array', items: { type: 'object', properties: { namespace: str, team: str, pattern: { type: 'boolean' } } } }, exempt: { type: 'array', items: str } } }) },
        ...errors(401, 503),
      },
    },
  },
  '/v1/exceptions': {
    post: {
      ...secured, summary: 'Grant a break-glass exception: the webhook admits the image (by digest, or by name and tag) in the team\'s namespaces until `expires`, at most 24 h ahead (admin of the team; audited; event `exception.granted`)',
      requestBody: {
        required: true,
        ...json({
          type: 'object', additionalProperties: false, required: ['team', 'reason', 'expires'],
          properties: { team: str, image: { type: 'string', description: 'a reference; exactly one of image and digest' }, digest: str, namespace: { type: 'string', description: 'only this namespace of the team' }, reason: str, expires: { type: 'string', description: 'ISO 8601, in the future (400 EXPIRES_IN_PAST), at most 24 h ahead (400 EXPIRES_TOO_LATE)' } },
        }),
      },
      responses: { 201: { description: 'granted', ...json(ref('Exception')) }, ...errors(400, 401, 403, 503) },
    },
    get: {
      ...secured, summary: 'Break-glass exceptions of a team (or of every team the caller reads), newest first; recently expired ones with `active: false`',
      parameters: [{ name: 'team', in: 'query', required: false, schema: str }],
      responses: { 200: { description: 'exceptions', ...json({ type: 'object', properties: { items: { type: 'array', items: ref('Exception') } } }) }, ...errors(400, 401, 404, 503) },
    },
  },
  '/v1/exceptions/{id}': {
    delete: {
      ...secured, summary: 'End an exception before its expiry (admin of its team; audited; event `exception.revoked`)',
      parameters: [{ name: 'id', in: 'path', required: true, schema: { type: 'string' } }, { name: 'reason', in: 'query', required: false, schema: str }],
      responses: { 200: { description: 'revoked', ...json(ref('Exception')) }, ...errors(400, 401, 403, 404, 503) },
    },
  },
  '/v1/images/{digest}/workloads': {
    get: {
      ...secured, summary: 'Where a digest runs: workloads admitted with it within `webhook.ledger.retentionDays`, one entry per workload with its last admission, most recent first (the caller\'s teams)',
      parameters: [{ name: 'digest', in: 'path', required: true, schema: { type: 'string', pattern: '^sha(256|512):[a-f0-9]+$' } }, { name: 'team', in: 'query', required: false, schema: str }, { name: 'limit', in: 'query', required: false, schema: { type: 'integer', minimum: 1, maximum: 1000, default: 200 } }],
      responses: { 200: { description: 'workloads', ...json({ type: 'object', properties: { digest: str, workloads: { type: 'array', items: ref('Workload') } } }) }, ...errors(400, 401, 404, 503) },
    },
  },
};
