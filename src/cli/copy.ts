/**
 * `portcullis copy SRC DST`: copies an image or index byte for byte between registries
 * and prints the digest the destination serves. A progress bar goes to stderr on a TTY.
 */
import { parseArgs } from 'node:util';
import { AppError } from '../lib/errors';
import { loadConfig, type Config } from '../lib/config';
import { copyImage, formatPlatform, parseReference, apiReference, type CopyProgress } from '../registry';
import { parseCredentials, toolClient } from '../registry';
import { CliError, EXIT } from './common';
import { credentialsFromAuthFile, credentialsFromEnv, looksLikePlainHttp } from './registry-auth';

export const usage = `usage: portcullis copy SRC DST [--platform os/arch[/variant]]... [--jobs N] [--retries N]
                      [--src-insecure] [--dest-insecure] [--src-creds-env VAR] [--dest-creds-env VAR]
                      [--authfile FILE] [--quiet]

Copies an image or index byte for byte and prints the digest the destination serves.
  --src-insecure, --dest-insecure   allow plain HTTP (and unverified TLS) to that registry
  --src-creds-env VAR, --dest-creds-env VAR
                                    the environment variable holding user:password
  --authfile FILE                   credentials per registry as skopeo/podman/docker keep them;
                                    default: $REGISTRY_AUTH_FILE, $XDG_RUNTIME_DIR/containers/auth.json,
                                    ~/.config/containers/auth.json, ~/.docker/config.json
Exit: 0 copied, 1 failed, 2 bad usage, 3 a registry unreachable.
`;
const USAGE = usage;

/** The configuration, when one can be loaded; a broken PORTCULLIS_CONFIG is an error. */
export function optionalConfig(): Config | undefined {
  try {
    return loadConfig();
  } catch (err) {
    if (process.env.PORTCULLIS_CONFIG) throw err;
    return undefined;
  }
}

function mib(n: number): string {
  return (n / (1024 * 1024)).toFixed(1);
}

function progressBar(stream: NodeJS.WriteStream): (p: CopyProgress) => void {
  let last = 0;
  return (p) => {
    const now = Date.now();
    if (now - last < 100 && p.phase !== 'done') return;
    last = now;
    const ratio = p.bytesTotal ? Math.min(1, p.bytesDone / p.bytesTotal) : 0;
    const width = 30;
    const filled = Math.round(ratio * width);
    stream.write(`\r[${'#'.repeat(filled)}${'-'.repeat(width - filled)}] ${(ratio * 100).toFixed(0).padStart(3)}% `
      + `${mib(p.bytesDone)}/${mib(p.bytesTotal)} MiB  ${p.blobsDone}/${p.blobsTotal} blobs${p.phase === 'done' ? '\n' : ''}`);
  };
}

function positiveInt(value: string | undefined, name: string): number | undefined {
  if (value === undefined) return undefined;
  const n = Number(value);
  if (!Number.isInteger(n) || n < 0 || (name === '--jobs' && n < 1)) throw new AppError('INVALID_REQUEST', `${name} must be a ${name === '--jobs' ? 'positive' : 'non-negative'} integer`);
  return n;
}

export async function run(argv: string[]): Promise<number> {
  const { values, positionals } = parseArgs({
    args: argv,
    allowPositionals: true,
    options: {
      platform: { type: 'string', multiple: true },
      jobs: { type: 'string' },
      retries: { type: 'string' },
      'src-insecure': { type: 'boolean', default: false },
      'dest-insecure': { type: 'boolean', default: false },
      'src-creds': { type: 'string' },
      'dest-creds': { type: 'string' },
      'src-creds-env': { type: 'string' },
      'dest-creds-env': { type: 'string' },
      authfile: { type: 'string' },
      quiet: { type: 'boolean', short: 'q', default: false },
      help: { type: 'boolean', short: 'h', default: false },
    },
  });
  if (values.help) {
    process.stdout.write(USAGE);
    return 0;
  }
  if (positionals.length !== 2) {
    process.stderr.write(USAGE);
    return 2;
  }
  const src = parseReference(positionals[0]);
  const dst = parseReference(positionals[1]);
  const config = optionalConfig();
  const jobs = positiveInt(values.jobs, '--jobs') ?? config?.copy.jobs ?? 4;
  const retries = positiveInt(values.retries, '--retries') ?? config?.copy.retries ?? 5;
  const creds = (side: 'src' | 'dest', registry: string) => {
    const inline = values[`${side}-creds`];
    const fromEnv = values[`${side}-creds-env`];
    if (inline) {
      process.stderr.write(`portcullis copy: --${side}-creds puts a secret in the process list and shell history; prefer --${side}-creds-env VAR\n`);
      return parseCredentials(inline);
    }
    if (fromEnv) return credentialsFromEnv('copy', `--${side}-creds-env`, fromEnv);
    return credentialsFromAuthFile(registry, values.authfile);
  };
  const srcClient = await toolClient(src, { insecure: values['src-insecure'], credentials: creds('src', src.registry), config });
  const dstClient = await toolClient(dst, { insecure: values['dest-insecure'], credentials: creds('dest', dst.registry), config });
  const platforms = values.platform ?? [];
  const tty = process.stderr.isTTY && !values.quiet;
  try {
    const result = await copyImage(
      { client: srcClient, repository: src.repository, reference: apiReference(src) },
      { client: dstClient, repository: dst.repository, tag: dst.digest ? undefined : dst.tag },
      {
        platforms,
        writeIndex: platforms.length > 1,
        jobs,
        retries,
        onProgress: tty ? progressBar(process.stderr) : undefined,
      },
    );
    if (!values.quiet) {
      for (const [from, to] of Object.entries(result.mapping)) process.stderr.write(`${from} → ${to}\n`);
      if (result.platforms.length > 1) for (const p of result.platforms) process.stderr.write(`  ${formatPlatform(p.platform).padEnd(16)} ${p.digest}\n`);
    }
    process.stdout.write(`${result.digest}\n`);
    return 0;
  } catch (err) {
    if (looksLikePlainHttp(err)) {
      throw new CliError(`a registry answered TLS with plain HTTP (${(err as Error).message})`, EXIT.UNREACHABLE,
        `if it is a plain-HTTP registry, add ${values['src-insecure'] ? '--dest-insecure' : values['dest-insecure'] ? '--src-insecure' : '--src-insecure (source) or --dest-insecure (destination)'}`);
    }
    throw err;
  } finally {
    srcClient.close();
    dstClient.close();
  }
}
