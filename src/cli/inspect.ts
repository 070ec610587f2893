/**
 * `portcullis inspect REF`: the digest a reference resolves to, its media type, size and,
 * for an index, its platforms. `--json` prints the same as one JSON object.
 */
import { parseArgs } from 'node:util';
import { formatPlatform, parseManifest, parseReference, apiReference } from '../registry';
import { parseCredentials, toolClient } from '../registry';
import { optionalConfig } from './copy';
import { CliError, EXIT, outputOf } from './common';
import { credentialsFromAuthFile, credentialsFromEnv, looksLikePlainHttp } from './registry-auth';

export const usage = `usage: portcullis inspect REF [--insecure] [--creds-env VAR] [--authfile FILE] [--output text|json]

Shows the digest REF resolves to, its media type, size, platforms (index) or layers (image).
  --insecure        allow plain HTTP (and unverified TLS) to the registry
  --creds-env VAR   the environment variable holding user:password
  --authfile FILE   credentials as skopeo/podman/docker keep them (default: as skopeo looks)
`;
const USAGE = usage;

export async function run(argv: string[]): Promise<number> {
  const { values, positionals } = parseArgs({
    args: argv,
    allowPositionals: true,
    options: {
      insecure: { type: 'boolean', default: false },
      creds: { type: 'string' },
      'creds-env': { type: 'string' },
      authfile: { type: 'string' },
      json: { type: 'boolean', default: false },
      output: { type: 'string', short: 'o' },
      help: { type: 'boolean', short: 'h', default: false },
    },
  });
  if (values.help) {
    process.stdout.write(USAGE);
    return 0;
  }
  if (positionals.length !== 1) {
    process.stderr.write(USAGE);
    return 2;
  }
  const output = outputOf('inspect', values, ['text', 'json']);
  const ref = parseReference(positionals[0]);
  if (values.creds) process.stderr.write('portcullis inspect: --creds puts a secret in the process list and shell history; prefer --creds-env VAR\n');
  const credentials = values.creds ? parseCredentials(values.creds)
    : values['creds-env'] ? credentialsFromEnv('inspect', '--creds-env', values['creds-env'])
      : credentialsFromAuthFile(ref.registry, values.authfile);
  const client = await toolClient(ref, { insecure: values.insecure, credentials, config: optionalConfig() });
  try {
    const m = await client.getManifest(ref.repository, apiReference(ref));
    const parsed = parseManifest(m.body, m.mediaType);
    const platforms = parsed.kind === 'index'
      ? parsed.manifests.map((d) => ({ platform: formatPlatform(d.platform), digest: d.digest, size: d.size }))
      : [];
    const layers = parsed.kind === 'image' ? parsed.layers.map((l) => ({ digest: l.digest, size: l.size, mediaType: l.mediaType })) : [];
    const out = { name: `${ref.registry}/${ref.repository}`, digest: m.digest, mediaType: m.mediaType, size: m.size, platforms, layers };
    if (output === 'json') {
      process.stdout.write(`${JSON.stringify(out, null, 2)}\n`);
    } else {
      process.stdout.write(`Name:       ${out.name}\nDigest:     ${out.digest}\nMediaType:  ${out.mediaType}\nSize:       ${out.size}\n`);
      if (platforms.length) process.stdout.write(`Platforms:\n${platforms.map((p) => `  ${p.platform.padEnd(16)} ${p.digest}`).join('\n')}\n`);
      if (layers.length) process.stdout.write(`Layers:\n${layers.map((l) => `  ${l.digest}  ${l.size}`).join('\n')}\n`);
    }
    return 0;
  } catch (err) {
    if (looksLikePlainHttp(err) && !values.insecure) {
      throw new CliError(`${ref.registry} answered TLS with plain HTTP (${(err as Error).message})`, EXIT.UNREACHABLE, 'if it is a plain-HTTP registry, add --insecure');
    }
    throw err;
  } finally {
    client.close();
  }
}
