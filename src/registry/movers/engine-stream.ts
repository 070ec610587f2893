/**
 * Reading the Docker Engine API's progress streams (pull, push) and turning engine failures
 * into AppErrors. The engine answers 200 as soon as a pull or push starts; a failure later on
 * arrives as one more JSON line with `error`/`errorDetail`, so the stream itself must be read
 * to the end before anything is known to have worked.
 */
import { AppError, type ErrorCode } from '../../lib/errors';
import { scrubSecrets } from '../../lib/logger';

/** One line of a pull or push stream (Docker's jsonmessage.JSONMessage; Podman's compat API). */
export interface EngineEvent {
  status?: string;
  id?: string;
  progressDetail?: { current?: number; total?: number };
  /** Push only, Docker: the final `{ Tag, Digest, Size }`. Podman 4 omits it (status line only). */
  aux?: { Tag?: string; Digest?: string; Size?: number };
  error?: string;
  errorDetail?: { code?: number; message?: string };
}

/** A failure the engine reported inside a stream (HTTP status was 200). */
export class EngineStreamError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'EngineStreamError';
  }
}

/** Longest line accepted: progress lines are tiny; anything bigger is not an engine talking. */
const MAX_LINE = 1024 * 1024;

/**
 * Reads a JSON-lines progress stream to its end, calling `onEvent` per line, and resolves with
 * all events; rejects with EngineStreamError on the first line carrying an error.
 */
export async function readEngineStream(stream: NodeJS.ReadableStream, onEvent?: (e: EngineEvent) => void): Promise<EngineEvent[]> {
  const events: EngineEvent[] = [];
  let pending = '';
  const take = (line: string): void => {
    if (line.trim() === '') return;
    let event: EngineEvent;
    try {
      event = JSON.parse(line) as EngineEvent;
    } catch {
      throw new EngineStreamError(`engine sent a line that is not JSON: ${line.slice(0, 200)}`);
    }
    if (event.errorDetail || event.error) {
      throw new EngineStreamError(event.errorDetail?.message ?? event.error ?? 'unknown engine error');
    }
    events.push(event);
    onEvent?.(event);
  };
  for await (const chunk of stream) {
    pending += typeof chunk === 'string' ? chunk : Buffer.from(chunk).toString('utf8');
    let nl: number;
    while ((nl = pending.indexOf('\n')) !== -1) {
      take(pending.slice(0, nl));
      pending = pending.slice(nl + 1);
    }
    if (pending.length > MAX_LINE) throw new EngineStreamError(`engine stream line longer than ${MAX_LINE} bytes`);
  }
  take(pending);
  return events;
}

const DIGEST_LINE = /digest: (sha256:[a-f0-9]{64}) size: (\d+)/;

/**
 * The digest and manifest size the engine pushed: Docker's `aux` record when present, else the
 * `TAG: digest: sha256:… size: N` status line that both Docker and Podman print last.
 */
export function pushedDigest(events: EngineEvent[]): { digest: string; size?: number } | undefined {
  for (let i = events.length - 1; i >= 0; i--) {
    const e = events[i];
    if (e.aux?.Digest) return { digest: e.aux.Digest, size: e.aux.Size };
    const m = e.status ? DIGEST_LINE.exec(e.status) : null;
    if (m) return { digest: m[1], size: Number(m[2]) };
  }
  return undefined;
}

/** Docker prints `Digest: sha256:…` at the end of a pull; Podman does not (see inspect instead). */
export function pulledDigest(events: EngineEvent[]): string | undefined {
  for (const e of events) {
    const m = e.status ? /^Digest: (sha256:[a-f0-9]{64})$/.exec(e.status) : null;
    if (m) return m[1];
  }
  return undefined;
}

/** Removes every given secret (and its Basic-auth forms) from an engine message. */
export function redact(message: string, secrets: Array<string | undefined>): string {
  let out = scrubSecrets(message);
  for (const s of secrets) {
    if (!s || s.length < 3) continue;
    out = out.split(s).join('[REDACTED]');
  }
  return out;
}

// Engine messages are free text wrapping the registry's answer; these are the forms
// containers/image (Podman) and Docker's distribution code print.
const AUTH_FAILURE = /unauthorized|authentication required|invalid username\/password|denied|\b401\b/i;
const TEMPORARY = /\b(429|502|503|504)\b|too many requests|timeout|timed out|connection reset|connection refused|unexpected EOF|TLS handshake|no such host/i;

interface DockerodeError {
  statusCode?: number;
  code?: string;
  json?: { message?: string } | null;
  message?: string;
}

/**
 * Maps anything an engine call threw to an AppError whose message names the step and the
 * reference but never a credential: stream errors and auth refusals become REGISTRY_ERROR /
 * REGISTRY_AUTH_FAILED, an unreachable engine DEPENDENCY_UNAVAILABLE (temporary).
 */
export function engineError(err: unknown, step: string, secrets: Array<string | undefined>): AppError {
  if (err instanceof AppError) return err;
  const e = (err ?? {}) as DockerodeError;
  const raw = e.json?.message ?? e.message ?? String(err);
  const message = redact(raw, secrets);
  // Keep the original only as a redacted copy: the cause ends up in logs.
  const cause = new Error(message);
  if (e.code && ['ENOENT', 'ECONNREFUSED', 'EACCES', 'ECONNRESET', 'EPIPE'].includes(e.code)) {
    return new AppError('DEPENDENCY_UNAVAILABLE', `${step}: Docker engine unreachable (${e.code})`, { cause, temporary: true });
  }
  let code: ErrorCode = 'REGISTRY_ERROR';
  if (AUTH_FAILURE.test(raw)) code = 'REGISTRY_AUTH_FAILED';
  const temporary = code === 'REGISTRY_ERROR' && (TEMPORARY.test(raw) || e.statusCode === 503);
  return new AppError(code, `${step}: ${message}`, { cause, temporary });
}
