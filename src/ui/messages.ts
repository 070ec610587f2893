/**
 * What an error means to the person at the console, in words. The API's code is kept beside
 * it (people quote it to support); the API's own message follows for detail.
 */
import type { AppError } from '../lib/errors';

const WORDS: Record<string, string> = {
  FOUR_EYES: 'You made this request, so someone else must decide on it (four-eyes rule).',
  WAIVERS_REQUIRED: 'This image has blocking findings: waive each of them (with a reason and an expiry) before approving, or reject it.',
  INVALID_STATE: 'This request is no longer awaiting approval: someone may have decided on it meanwhile. Reload the page.',
  CONFLICT: 'Someone changed this request at the same time. Reload the page and try again.',
  FORBIDDEN: 'Your roles do not allow this.',
  NOT_FOUND: 'Not found, or not visible to your teams.',
  INVALID_REQUEST: 'Some of what you entered is not valid.',
  CSRF_INVALID: 'This form has expired or did not come from this console. Reload the page and try again.',
  UNAUTHENTICATED: 'That token was not recognised.',
  RATE_LIMITED: 'Too many requests or sign-in attempts in a minute: wait the time given and try again.',
  REVOKED: 'An admin revoked this digest for the team.',
  DEPENDENCY_UNAVAILABLE: 'A service Portcullis depends on is unavailable right now; try again shortly.',
};

export interface ShownError {
  code: string;
  words: string;
  /** The API's message, for a 4xx (a 5xx message stays in the log). */
  detail?: string;
  /** Finding ids a WAIVERS_REQUIRED names. */
  blocking?: string[];
}

export function shownError(err: AppError): ShownError {
  const words = WORDS[err.code] ?? (err.status >= 500 ? 'Something went wrong on the server; the request id in the page footer helps support find it.' : 'The request was refused.');
  const blocking = Array.isArray(err.details?.blocking) ? (err.details.blocking as unknown[]).filter((x): x is string => typeof x === 'string') : undefined;
  return { code: err.code, words, ...(err.status < 500 ? { detail: err.message } : {}), ...(blocking ? { blocking } : {}) };
}
