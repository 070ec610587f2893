/**
 * Retries of temporary registry failures (429, 5xx, resets, timeouts): exponential backoff
 * with full jitter (so that parallel blobs do not retry in lockstep), and a registry's
 * Retry-After, when it sends one, as the least we wait.
 */
import { AppError } from '../lib/errors';
import { isTemporary, RegistryError } from './errors';

export interface RetryPolicy {
  /** Retries after the first attempt. */
  retries: number;
  /** First backoff ceiling, doubled per attempt. */
  baseMs: number;
  /** Largest backoff (Retry-After is honoured even when longer, up to {@link MAX_RETRY_AFTER_MS}). @defaultValue 30000 */
  maxMs?: number;
  signal?: AbortSignal;
  onRetry?: (err: unknown, attempt: number, delayMs: number) => void;
  /** For tests of the jitter; @defaultValue Math.random */
  random?: () => number;
}

/** A Retry-After longer than this is not waited for: the operation fails instead. */
export const MAX_RETRY_AFTER_MS = 5 * 60 * 1000;

export function backoffDelay(err: unknown, attempt: number, policy: RetryPolicy): number {
  const random = policy.random ?? Math.random;
  const ceiling = Math.min(policy.maxMs ?? 30000, policy.baseMs * 2 ** attempt);
  const jittered = Math.floor(random() * ceiling);
  const retryAfter = err instanceof RegistryError ? err.retryAfterMs : undefined;
  return retryAfter === undefined ? jittered : retryAfter + Math.floor(random() * Math.min(policy.baseMs, 1000));
}

export function sleep(ms: number, signal?: AbortSignal): Promise<void> {
  return new Promise((resolve, reject) => {
    if (signal?.aborted) {
      reject(signal.reason);
      return;
    }
    const timer = setTimeout(() => { signal?.removeEventListener('abort', onAbort); resolve(); }, ms);
    const onAbort = () => { clearTimeout(timer); reject(signal?.reason); };
    signal?.addEventListener('abort', onAbort, { once: true });
  });
}

/** Runs `fn` until it succeeds, fails permanently, or the retries are spent. */
export async function withRetry<T>(fn: (attempt: number) => Promise<T>, policy: RetryPolicy): Promise<T> {
  for (let attempt = 0; ; attempt++) {
    try {
      return await fn(attempt);
    } catch (err) {
      if (policy.signal?.aborted || attempt >= policy.retries || !isTemporary(err)) throw err;
      const delay = backoffDelay(err, attempt, policy);
      if (delay > MAX_RETRY_AFTER_MS) throw err;
      policy.onRetry?.(err, attempt + 1, delay);
      await sleep(delay, policy.signal);
    }
  }
}

/** Whether the error is an abort we caused ourselves (not worth reporting over the real cause). */
export function isAbort(err: unknown): boolean {
  return !(err instanceof AppError) && (err as { name?: string })?.name === 'AbortError';
}
