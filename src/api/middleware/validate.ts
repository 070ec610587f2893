/**
 * Input validation at the edge: every body and query goes through a zod schema. Unknown
 * fields are refused (strict objects) with UNKNOWN_FIELD naming them; any other problem is
 * INVALID_REQUEST naming the field.
 */
import type { z } from 'zod';
import { AppError } from '../../lib/errors';

export function parseInput<S extends z.ZodType>(schema: S, input: unknown, where: 'body' | 'query'): z.infer<S> {
  const result = schema.safeParse(input ?? {});
  if (result.success) return result.data;
  const issue = result.error.issues[0];
  const field = issue.path.join('.');
  if (issue.code === 'unrecognized_keys') {
    const keys = issue.keys.map((k) => (field ? `${field}.${k}` : k));
    throw new AppError('UNKNOWN_FIELD', `unknown ${where} field(s): ${keys.join(', ')}`, { details: { fields: keys } });
  }
  throw new AppError('INVALID_REQUEST', `${where}${field ? `.${field}` : ''}: ${issue.message}`, { details: { field: field || null } });
}
