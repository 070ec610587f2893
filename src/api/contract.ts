/**
 * A route's contract: its path parameters, query, body, responses and the error codes it can
 * answer, as zod schemas and codes from the error table. The route parses with these same
 * schemas, and the OpenAPI document (openapi.ts) is generated from the contracts, so the two
 * cannot drift apart. Each router declares its table beside it (`routes/<name>.contract.ts`),
 * listed in `contracts.ts`.
 */
import type { z } from 'zod';
import type { ErrorCode } from '../lib/errors';

export type Method = 'get' | 'post' | 'put' | 'patch' | 'delete';

export interface ResponseContract {
  description: string;
  /** The JSON body; absent for an empty answer (204). */
  schema?: z.ZodType;
  /** Other media types with their own schema (e.g. `text/plain`). */
  content?: Record<string, z.ZodType>;
}

export interface RouteContract {
  method: Method;
  /** The OpenAPI form of the path: `/v1/requests/{id}`. */
  path: string;
  summary: string;
  description?: string;
  /** `bearer`: under /v1, behind authentication, rate limits and the body parser. */
  auth: 'bearer' | 'none';
  params?: z.ZodObject;
  query?: z.ZodObject;
  body?: z.ZodType;
  /** @defaultValue true when `body` is set */
  bodyRequired?: boolean;
  /** Media types the body may be sent as. @defaultValue ['application/json'] */
  bodyMediaTypes?: readonly string[];
  responses: Record<number, ResponseContract>;
  /** The codes this route answers with beyond those every /v1 route can (see {@link V1_ERRORS}). */
  errors: readonly ErrorCode[];
}

/** Declares a contract (an identity function that keeps the literal types and checks the shape). */
export const route = (c: RouteContract): RouteContract => c;

/**
 * What every /v1 route can answer before its own code runs: the body parser (any method: a
 * body that is not JSON, too large, or of another media type), authentication (no token, or a
 * token refused with its reason), the rate limits, Redis away (fail closed) and a bug.
 */
export const V1_ERRORS: readonly ErrorCode[] = [
  'INVALID_REQUEST', 'BODY_TOO_LARGE', 'UNSUPPORTED_MEDIA_TYPE',
  'UNAUTHENTICATED', 'TOKEN_INVALID', 'TOKEN_EXPIRED', 'TOKEN_NOT_YET_VALID', 'TOKEN_AUDIENCE_MISMATCH', 'TOKEN_ISSUER_UNKNOWN',
  'TOKEN_ALGORITHM_REFUSED', 'TOKEN_KEY_UNKNOWN', 'TOKEN_SIGNATURE_INVALID', 'PRINCIPAL_DISABLED', 'IDENTITY_UNMAPPED', 'ISSUER_UNAVAILABLE',
  'RATE_LIMITED', 'DEPENDENCY_UNAVAILABLE', 'INTERNAL',
];

/** Every code a route can answer with: its own, those of every /v1 route, and UNKNOWN_FIELD when it reads a strict query or body. */
export function routeErrors(c: RouteContract): ErrorCode[] {
  const codes = new Set<ErrorCode>(c.errors);
  if (c.auth === 'bearer') for (const code of V1_ERRORS) codes.add(code);
  if (c.query || c.body) {
    codes.add('INVALID_REQUEST');
    codes.add('UNKNOWN_FIELD');
  }
  return [...codes];
}

/** `/v1/requests/{id}` → `/v1/requests/:id` (express's form). */
export const expressPath = (openApiPath: string): string => openApiPath.replace(/\{(\w+)\}/g, ':$1');
