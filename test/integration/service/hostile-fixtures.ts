/** Hostile image content shared by the tests that run the built service (issue 8). */
import { createGzip } from 'node:zlib';
import { pack } from 'tar-stream';

const MiB = 1024 * 1024;

/** The bomb: twelve 60 MiB dpkg status.d files of one repeated record, gzipped as a stream. */
export async function statusDBomb(): Promise<Buffer> {
  const tar = pack();
  const gz = createGzip({ level: 9 });
  const out: Buffer[] = [];
  gz.on('data', (c: Buffer) => out.push(c));
  const done = new Promise<void>((resolve, reject) => { gz.on('end', resolve); gz.on('error', reject); });
  tar.pipe(gz);
  const record = Buffer.from('Package: bomb\nStatus: install ok installed\nVersion: 1.0-1\n\n');
  const chunk = Buffer.alloc(MiB);
  for (let at = 0; at < MiB; at += record.length) record.copy(chunk, at);
  for (let f = 0; f < 12; f += 1) {
    const entry = tar.entry({ name: `var/lib/dpkg/status.d/pkg${f}`, size: 60 * MiB, mode: 0o644, mtime: new Date(0) });
    for (let i = 0; i < 60; i += 1) {
      if (!entry.write(chunk)) await new Promise<void>((r) => entry.once('drain', () => r()));
    }
    await new Promise<void>((resolve, reject) => entry.end((err?: Error | null) => (err ? reject(err) : resolve())));
  }
  tar.finalize();
  await done;
  return Buffer.concat(out);
}

