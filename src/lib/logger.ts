/**
 * The one pino root logger. Field names follow Elastic Common Schema (`@timestamp`,
 * `log.level`, `message`, `error.*`) so that ELK ingests the lines without a mapping.
 * Secrets are redacted here, at the root, so no component can forget to.
 */
import pino, { type DestinationStream, type Logger, type LoggerOptions } from 'pino';

export type { Logger } from 'pino';

/** Paths pino censors wherever they appear in a log object. */
export const REDACT_PATHS = [
  'password', '*.password', '*.*.password',
  'token', '*.token', '*.*.token',
  'secret', '*.secret',
  'authorization', '*.authorization', '*.*.authorization',
  'headers.authorization', 'headers.cookie', 'req.headers.authorization',
  'http.request.headers.authorization', 'http.request.headers.cookie',
  'credentials', '*.credentials',
  'tokenSha256', '*.tokenSha256',
];

/** Credentials inside URLs (redis://:pw@host, https://user:pw@host) are masked in strings too. */
export function scrubSecrets(text: string): string {
  return text
    .replace(/(\b[a-z][a-z0-9+.-]*:\/\/)([^\s/@:]*):([^\s/@]*)@/gi, '$1$2:[REDACTED]@')
    .replace(/\b(Bearer|Basic)\s+[A-Za-z0-9._~+/=-]+/g, '$1 [REDACTED]');
}

export interface LoggerSettings {
  level?: string;
  /** Where lines go; defaults to stdout. Tests pass a stream to read the lines back. */
  destination?: DestinationStream;
  /** Pretty output, for NODE_ENV=development only. */
  pretty?: boolean;
}

export function createLogger(settings: LoggerSettings = {}): Logger {
  const options: LoggerOptions = {
    level: settings.level ?? 'info',
    messageKey: 'message',
    errorKey: 'error',
    base: { 'service.name': 'portcullis' },
    timestamp: () => `,"@timestamp":"${new Date().toISOString()}"`,
    redact: { paths: REDACT_PATHS, censor: '[REDACTED]' },
    // pino's own error serializer would run after the formatter below and put back `stack` and
    // every enumerable property (an AppError's details and cause): the formatter alone shapes errors.
    serializers: { error: (v: unknown) => v, err: (v: unknown) => v },
    formatters: {
      level: (label) => ({ 'log.level': label }),
      log: (obj) => {
        // Errors as ECS error.type, error.message, error.stack_trace and nothing else (no cause,
        // details or headers, which may hold what must not be logged). An error's code (an
        // AppError's, a Node system error's) is its type: it says more than the class name.
        const err = obj.error ?? obj.err;
        // pino may hand an Error, or its own serialization of one ({type, message, stack, …}).
        if (err instanceof Error || (typeof err === 'object' && err !== null && typeof (err as { message?: unknown }).message === 'string')) {
          const e = err as { name?: unknown; type?: unknown; code?: unknown; message: string; stack?: unknown; stack_trace?: unknown };
          const { err: _err, 'error.code': _code, ...rest } = obj as Record<string, unknown>;
          const stack = typeof e.stack === 'string' ? e.stack : typeof e.stack_trace === 'string' ? e.stack_trace : undefined;
          const type = typeof e.code === 'string' && e.code ? e.code : typeof e.name === 'string' && e.name !== 'Error' ? e.name : typeof e.type === 'string' ? e.type : 'Error';
          return { ...rest, error: { type, message: scrubSecrets(e.message), ...(stack ? { stack_trace: scrubSecrets(stack) } : {}) } };
        }
        return obj;
      },
    },
    hooks: {
      // Messages can carry URLs with credentials (a Redis URL, a registry URL): mask them.
      logMethod(args, method) {
        const masked = args.map((a) => (typeof a === 'string' ? scrubSecrets(a) : a)) as Parameters<typeof method>;
        method.apply(this, masked);
      },
    },
  };
  if (settings.pretty && !settings.destination) {
    return pino({ ...options, transport: { target: 'pino-pretty', options: { messageKey: 'message' } } });
  }
  return settings.destination ? pino(options, settings.destination) : pino(options);
}

let root: Logger | undefined;

/** The process-wide root logger; components take `rootLogger().child({ module })`. */
export function rootLogger(): Logger {
  root ??= createLogger({
    level: process.env.PORTCULLIS_LOG_LEVEL ?? 'info',
    pretty: process.env.NODE_ENV === 'development',
  });
  return root;
}

export function setRootLogger(logger: Logger): void {
  root = logger;
}
