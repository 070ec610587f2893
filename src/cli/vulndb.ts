/**
 * `portcullis vulndb sync --from <url|dir> [--from …] [--to <dir>]`: fetches or refreshes
 * the builtin scanner's OSV data. `--to` defaults to the `osvPath` of the first builtin
 * scanner in the configuration. A progress bar goes to stderr on a TTY, plain lines
 * otherwise; the summary (records, ecosystems, dbVersion) goes to stdout. A failed sync
 * leaves the previous data in place (syncOsv stages and swaps) and exits 1 with one line.
 */
import { existsSync } from 'node:fs';
import { readdir } from 'node:fs/promises';
import path from 'node:path';
import { parseArgs } from 'node:util';
import { isAppError } from '../lib/errors';
import { loadConfig } from '../lib/config';
import { loadRecords } from '../scanners';
import { syncOsv, type SyncProgress, type SyncResult } from '../scanners';

export const usage = `usage: portcullis vulndb sync --from <url|dir> [--from <url|dir>]... [--to <dir>] [--force] [--quiet]

  --from   an OSV export URL (https://osv-vulnerabilities.storage.googleapis.com/Debian/all.zip),
           a single record's URL, or a folder of OSV JSON files and all.zip exports; repeatable
  --to     the database folder; default: osvPath of the first builtin scanner in the config.
           Its contents are replaced: an existing folder must hold only OSV data (.json, .zip)
  --force  replace --to even when it holds other files
  --quiet  no progress output
`;

const USAGE = usage;

/** Thrown for a command line that cannot run: exit 2 with the usage. */
class UsageError extends Error {}

function mib(n: number): string {
  return (n / (1024 * 1024)).toFixed(1);
}

/** A bar redrawn in place (at most every 100 ms), one line per file. */
function progressBar(stream: NodeJS.WriteStream): { onProgress: (p: SyncProgress) => void; end: () => void } {
  let file = '';
  let last = 0;
  let drawn = false;
  return {
    onProgress: (p) => {
      const now = Date.now();
      if (p.file !== file) {
        if (drawn) stream.write('\n');
        file = p.file;
      } else if (now - last < 100 && p.bytes !== p.total) {
        return;
      }
      last = now;
      drawn = true;
      const width = 30;
      const ratio = p.total ? Math.min(1, p.bytes / p.total) : undefined;
      const bar = ratio === undefined ? '' : `[${'#'.repeat(Math.round(ratio * width)).padEnd(width, '-')}] ${(ratio * 100).toFixed(0).padStart(3)}% `;
      stream.write(`\r${bar}${mib(p.bytes)}${p.total ? `/${mib(p.total)}` : ''} MiB  ${p.file}`);
    },
    end: () => { if (drawn) stream.write('\n'); drawn = false; },
  };
}

/** Without a TTY: one line per file once it is complete (when the next one starts, or at the end). */
function plainLines(stream: NodeJS.WritableStream): { onProgress: (p: SyncProgress) => void; end: () => void } {
  let current: SyncProgress | undefined;
  const flush = () => { if (current) stream.write(`fetched ${current.file} (${mib(current.bytes)} MiB)\n`); current = undefined; };
  return {
    onProgress: (p) => {
      if (current && current.file !== p.file) flush();
      current = p;
    },
    end: flush,
  };
}

/**
 * `osvPath` of the first builtin scanner. Read structurally: the `scanners` section is
 * optional in older configurations, and a site without a builtin scanner has no default.
 */
export function builtinOsvPath(config: object): string | undefined {
  const scanners = (config as { scanners?: unknown }).scanners;
  if (!Array.isArray(scanners)) return undefined;
  const builtin = scanners.find((s: unknown): s is { osvPath: unknown } => typeof s === 'object' && s !== null && (s as { type?: unknown }).type === 'builtin');
  return builtin && typeof builtin.osvPath === 'string' ? builtin.osvPath : undefined;
}

function defaultTo(): string {
  let config: object;
  try {
    config = loadConfig();
  } catch (err) {
    throw new UsageError(`--to is required: the configuration cannot be read (${(err as Error).message})`);
  }
  const osvPath = builtinOsvPath(config);
  if (!osvPath) throw new UsageError('--to is required: the configuration has no builtin scanner with an osvPath');
  return osvPath;
}

/** Distinct ecosystems of the records now in `dir` (syncOsv reports only the count). */
async function ecosystemsIn(dir: string): Promise<string[]> {
  const seen = new Set<string>();
  await loadRecords(dir, (r) => { for (const a of r.affected ?? []) seen.add(a.package.ecosystem); });
  return [...seen].sort();
}

/**
 * Files in `dir` that are not OSV data (.json records, .zip exports), up to `max`: a sync
 * replaces the folder wholesale, so a README or anything else there would be lost.
 */
export async function foreignFiles(dir: string, max = 5): Promise<string[]> {
  const out: string[] = [];
  const walk = async (d: string): Promise<void> => {
    for (const e of await readdir(d, { withFileTypes: true })) {
      if (out.length >= max) return;
      const p = path.join(d, e.name);
      if (e.isDirectory()) await walk(p);
      else if (!/\.(json|zip)$/i.test(e.name)) out.push(path.relative(dir, p));
    }
  };
  await walk(dir);
  return out;
}

function parse(argv: string[]): { from: string[]; to: string; quiet: boolean; force: boolean } | 'help' {
  const [sub, ...rest] = argv;
  if (sub === '--help' || sub === '-h') return 'help';
  if (sub !== 'sync') throw new UsageError(sub ? `unknown subcommand '${sub}'` : 'a subcommand is required');
  let values: { from?: string[]; to?: string; quiet?: boolean; help?: boolean; force?: boolean };
  try {
    ({ values } = parseArgs({
      args: rest,
      options: { from: { type: 'string', multiple: true }, to: { type: 'string' }, quiet: { type: 'boolean', short: 'q' }, help: { type: 'boolean', short: 'h' }, force: { type: 'boolean' } },
    }));
  } catch (err) {
    throw new UsageError((err as Error).message);
  }
  if (values.help) return 'help';
  if (!values.from?.length) throw new UsageError('at least one --from is required');
  return { from: values.from, to: values.to ?? defaultTo(), quiet: values.quiet ?? false, force: values.force ?? false };
}

export async function run(argv: string[]): Promise<number> {
  let args: ReturnType<typeof parse>;
  try {
    args = parse(argv);
  } catch (err) {
    if (!(err instanceof UsageError)) throw err;
    process.stderr.write(`portcullis vulndb: ${err.message}\n${USAGE}`);
    return 2;
  }
  if (args === 'help') {
    process.stdout.write(USAGE);
    return 0;
  }
  const existed = existsSync(args.to);
  if (existed && !args.force) {
    const foreign = await foreignFiles(args.to);
    if (foreign.length) {
      process.stderr.write(`portcullis vulndb: ${args.to} holds files that are not OSV data (${foreign.join(', ')}); a sync replaces the whole folder\n`
        + `  → sync into an empty or new folder (--to DIR, then point the scanner's osvPath at it), or pass --force to replace it anyway\n`);
      return 2;
    }
  }
  const progress = args.quiet ? undefined : process.stderr.isTTY ? progressBar(process.stderr) : plainLines(process.stderr);
  let result: SyncResult;
  try {
    result = await syncOsv({ from: args.from, to: args.to, onProgress: progress?.onProgress });
  } catch (err) {
    progress?.end();
    // One line, never a stack: the cause is in the message (HTTP status, unreadable folder, no records).
    const message = isAppError(err) ? `${err.code}: ${err.message}` : err instanceof Error ? err.message : String(err);
    const after = existed ? `the data in ${args.to} is unchanged` : `nothing was written: ${args.to} did not exist and still does not`;
    process.stderr.write(`portcullis vulndb: sync failed: ${message}\n${after}\n`);
    return 1;
  }
  progress?.end();
  const ecosystems = await ecosystemsIn(args.to);
  process.stdout.write(
    `synced ${result.records} records (${result.files} files, ${mib(result.bytes)} MiB) into ${args.to}\n`
    + `ecosystems: ${ecosystems.join(', ') || '(none)'}\n`
    + `dbVersion: ${result.dbVersion}\n`,
  );
  return 0;
}
