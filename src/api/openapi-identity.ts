/** The OpenAPI paths and schemas of robot accounts and principals (spread into openapi.ts). */
const ref = (name: string) => ({ $ref: `#/components/schemas/${name}` });
const json = (schema: unknown) => ({ content: { 'application/json': { schema } } });
const errors = (...statuses: number[]) => Object.fromEntries(statuses.map((s) => [String(s), { description: 'error', ...json(ref('Error')) }]));
const secured = { security: [{ bearer: [] }] };
const idParam = { name: 'id', in: 'path', required: true, schema: { type: 'string', pattern: '^[a-f0-9]{16}$' } };
const issued = { description: 'the robot and its new token, shown this once', ...json({ type: 'object', required: ['robot', 'token'], properties: { robot: ref('Robot'), token: { type: 'string' } } }) };
const roles = { type: 'array', items: { type: 'string', enum: ['developer', 'approver', 'ci', 'auditor', 'admin'] } };

export const identitySchemas = {
  Robot: {
    type: 'object', required: ['id', 'name', 'team', 'roles', 'createdAt', 'createdBy', 'expiresAt', 'expiresInDays', 'disabled'],
    properties: {
      id: { type: 'string' }, name: { type: 'string' }, team: { type: 'string' }, roles, createdAt: { type: 'string', format: 'date-time' }, createdBy: { type: 'string' },
      expiresAt: { type: 'string', format: 'date-time' }, expiresInDays: { type: 'integer' }, rotatedAt: { type: 'string', format: 'date-time' },
      disabled: { type: 'boolean' }, disabledReason: { type: 'string', enum: ['admin', 'expired', 'inactive'] }, lastUsedAt: { type: 'string', format: 'date-time' },
    },
  },
  Principal: {
    type: 'object', required: ['subject', 'name', 'source', 'roles', 'teams', 'lastSeenAt', 'disabled', 'inactive'],
    properties: {
      subject: { type: 'string' }, name: { type: 'string' }, source: { type: 'string', enum: ['tokens-file', 'oidc', 'workload', 'robot'] }, roles, teams: { type: 'array', items: { type: 'string' } },
      lastSeenAt: { type: 'string', format: 'date-time' }, disabled: { type: 'boolean' }, inactive: { type: 'boolean' },
    },
  },
};

export const identityPaths = {
  '/v1/robots': {
    get: { ...secured, summary: 'Robot accounts of the caller\'s teams (admin)', responses: { 200: { description: 'robots', ...json({ type: 'object', properties: { robots: { type: 'array', items: ref('Robot') } } }) }, ...errors(401, 403) } },
    post: {
      ...secured, summary: 'Create a robot account; its token is in the answer only (admin of the team)',
      requestBody: { required: true, ...json({ type: 'object', additionalProperties: false, required: ['name', 'team', 'roles', 'expiresInDays'], properties: { name: { type: 'string' }, team: { type: 'string' }, roles: { type: 'array', items: { type: 'string', enum: ['ci', 'developer', 'auditor'] } }, expiresInDays: { type: 'integer', minimum: 1, description: 'at most auth.robots.maxDays' } } }) },
      responses: { 201: issued, ...errors(400, 401, 403, 409) },
    },
  },
  '/v1/robots/{id}': { delete: { ...secured, summary: 'Delete a robot account', parameters: [idParam], responses: { 204: { description: 'deleted' }, ...errors(401, 403, 404) } } },
  '/v1/robots/{id}/rotate': {
    post: {
      ...secured, summary: 'A new token; the previous one works auth.robots.overlapHours more; the lifetime restarts', parameters: [idParam],
      requestBody: { required: false, ...json({ type: 'object', additionalProperties: false, properties: { expiresInDays: { type: 'integer', minimum: 1 } } }) },
      responses: { 200: issued, ...errors(400, 401, 403, 404) },
    },
  },
  '/v1/robots/{id}/disable': { post: { ...secured, summary: 'Disable a robot account', parameters: [idParam], responses: { 200: { description: 'the robot', ...json(ref('Robot')) }, ...errors(401, 403, 404) } } },
  '/v1/robots/{id}/enable': { post: { ...secured, summary: 'Enable a robot account again', parameters: [idParam], responses: { 200: { description: 'the robot', ...json(ref('Robot')) }, ...errors(401, 403, 404) } } },
  '/v1/principals': {
    get: {
      ...secured, summary: 'Known principals and when each was last seen (admin, auditor)',
      parameters: [{ name: 'inactive', in: 'query', required: false, schema: { type: 'string', enum: ['true', 'false'] }, description: 'only those unused for auth.inactiveDays' }],
      responses: { 200: { description: 'principals', ...json({ type: 'object', properties: { principals: { type: 'array', items: ref('Principal') } } }) }, ...errors(401, 403) },
    },
  },
  '/v1/principals/enable': {
    post: {
      ...secured, summary: 'Enable a principal disabled for inactivity (admin of every team)',
      requestBody: { required: true, ...json({ type: 'object', additionalProperties: false, required: ['subject'], properties: { subject: { type: 'string' } } }) },
      responses: { 204: { description: 'enabled' }, ...errors(400, 401, 403, 404) },
    },
  },
};
