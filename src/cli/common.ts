/**
 * What every `portcullis` command shares: exit codes, the error that carries one and a hint of
 * what to do next, argument parsing that names the bad option, `--output`, and URL redaction.
 */
import { parseArgs, type ParseArgsConfig } from 'node:util';

/**
 * Exit codes, so that scripts can tell "the server said no" from "the server is not there".
 * 0 done; 1 refused or failed (an API error, a failed request, a broken chain); 2 bad usage;
 * 3 the server (or registry) could not be reached.
 */
export const EXIT = { OK: 0, FAILED: 1, USAGE: 2, UNREACHABLE: 3 } as const;

/** An error the CLI prints as one line, plus a hint of what to do next, and exits with. */
export class CliError extends Error {
  constructor(message: string, readonly exitCode: number = EXIT.FAILED, readonly hint?: string) {
    super(message);
    this.name = 'CliError';
  }
}

/** A usage error: names what is wrong and points at `--help` (never prints every command's usage). */
export function usageError(command: string, message: string): CliError {
  return new CliError(`${message}`, EXIT.USAGE, `see: portcullis ${command} --help`);
}

export type Output = 'text' | 'json' | 'table';

/** `--output text|json|table` (and `--json`, kept as a shorthand) for read commands. */
export const outputOptions = {
  output: { type: 'string' as const, short: 'o' },
  json: { type: 'boolean' as const },
};

export function outputOf(command: string, values: { output?: string; json?: boolean }, allowed: Output[] = ['text', 'json', 'table']): Output {
  if (values.json) return 'json';
  const o = values.output ?? 'text';
  if (!(allowed as string[]).includes(o)) throw usageError(command, `--output must be one of ${allowed.join(', ')}, not '${o}'`);
  return o as Output;
}

/** parseArgs whose errors (unknown option, missing value) become usage errors of `command`. */
export function parseCommand<O extends NonNullable<ParseArgsConfig['options']>>(command: string, argv: string[], options: O) {
  try {
    return parseArgs({ args: argv, allowPositionals: true, strict: true, options });
  } catch (err) {
    throw usageError(command, (err as Error).message.split('\n')[0]);
  }
}

/** A URL without its user-info: `http://user:pw@host/` → `http://***@host/`. Not a URL: `(invalid URL)`. */
export function redactUrl(raw: string): string {
  try {
    const u = new URL(raw);
    if (!u.username && !u.password) return u.href.replace(/\/+$/, '');
    u.username = '***';
    u.password = '';
    return u.href.replace(/\/+$/, '');
  } catch {
    return '(not a URL)';
  }
}

/** Left-aligned columns, a header row first. */
export function table(header: string[], rows: string[][]): string {
  const widths = header.map((h, i) => Math.max(h.length, ...rows.map((r) => (r[i] ?? '').length)));
  const line = (r: string[]) => r.map((c, i) => (i === r.length - 1 ? c : c.padEnd(widths[i]))).join('  ').trimEnd();
  return `${[line(header), ...rows.map(line)].join('\n')}\n`;
}

export function printJson(value: unknown): void {
  process.stdout.write(`${JSON.stringify(value, null, 2)}\n`);
}
