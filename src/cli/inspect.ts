/**
 * `portcullis inspect REF`: the digest a reference resolves to, its media type, size and,
 * for an index, its platforms. `--json` prints the same as one JSON object.
 */
import { parseArgs } from 'node:util';
import { formatPlatform, parseManifest, parseReference, apiReference } from '../registry';
import { parseCredentials, toolClient } from '../registry';
import { optionalConfig } from './copy';

const USAGE = 'usage: portcullis inspect REF [--insecure] [--creds user:pass] [--json]\n';

export async function run(argv: string[]): Promise<number> {
  const { values, positionals } = parseArgs({
    args: argv,
    allowPositionals: true,
    options: {
      insecure: { type: 'boolean', default: false },
      creds: { type: 'string' },
      json: { type: 'boolean', default: false },
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
  const ref = parseReference(positionals[0]);
  const client = await toolClient(ref, { insecure: values.insecure, credentials: values.creds ? parseCredentials(values.creds) : undefined, config: optionalConfig() });
  try {
    const m = await client.getManifest(ref.repository, apiReference(ref));
    const parsed = parseManifest(m.body, m.mediaType);
    const platforms = parsed.kind === 'index'
      ? parsed.manifests.map((d) => ({ platform: formatPlatform(d.platform), digest: d.digest, size: d.size }))
      : [];
    const layers = parsed.kind === 'image' ? parsed.layers.map((l) => ({ digest: l.digest, size: l.size, mediaType: l.mediaType })) : [];
    const out = { name: `${ref.registry}/${ref.repository}`, digest: m.digest, mediaType: m.mediaType, size: m.size, platforms, layers };
    if (values.json) {
      process.stdout.write(`${JSON.stringify(out, null, 2)}\n`);
    } else {
      process.stdout.write(`Name:       ${out.name}\nDigest:     ${out.digest}\nMediaType:  ${out.mediaType}\nSize:       ${out.size}\n`);
      if (platforms.length) process.stdout.write(`Platforms:\n${platforms.map((p) => `  ${p.platform.padEnd(16)} ${p.digest}`).join('\n')}\n`);
      if (layers.length) process.stdout.write(`Layers:\n${layers.map((l) => `  ${l.digest}  ${l.size}`).join('\n')}\n`);
    }
    return 0;
  } finally {
    client.close();
  }
}
