/**
 * A real Debian package as image-layer files: the .deb is one `apt-get download` fetched from
 * Debian 12 into test/fixtures/packages/debian (kept in the repository, so tests read no network
 * and the exact findings they assert do not move with Debian's updates), `dpkg-deb` unpacks it, and the dpkg database entries are written the
 * way dpkg writes them on install: the control paragraph with `Status: install ok installed`
 * for `/var/lib/dpkg/status`, and `/var/lib/dpkg/info/<package>.list` with one absolute path
 * per line from the package's own file list (`/.` first, directories without a trailing slash).
 */
import { execFileSync } from 'node:child_process';
import { mkdtempSync, readdirSync, readFileSync, lstatSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';

const PACKAGES = path.resolve(__dirname, '../fixtures/packages/debian');

export interface DebianPackage {
  name: string;
  /** Full version, e.g. `1.26.12-1+deb12u4`. */
  version: string;
  /** The status paragraph (ends with a newline). */
  status: string;
  /** Paths of the package's files and the `.list` line, as layer files (no leading slash). */
  files: Record<string, Buffer | string>;
}

/** Paths of the regular files under `root`, relative to it. */
export function walk(root: string, dir = root, out: string[] = []): string[] {
  for (const entry of readdirSync(dir)) {
    const full = path.join(dir, entry);
    const st = lstatSync(full);
    if (st.isDirectory()) walk(root, full, out);
    else if (st.isFile()) out.push(path.relative(root, full));
  }
  return out;
}

export function debianPackage(name: string): DebianPackage {
  const dir = mkdtempSync(path.join(os.tmpdir(), 'pcs-deb-'));
  const kept = readdirSync(PACKAGES).find((f) => f.startsWith(`${name}_`) && f.endsWith('.deb'));
  if (!kept) throw new Error(`no ${name}_*.deb in ${PACKAGES}: fetch it with \`apt-get download ${name}\` there`);
  const deb = path.join(PACKAGES, kept);
  const root = path.join(dir, 'root');
  execFileSync('dpkg-deb', ['-x', deb, root]);
  const control = execFileSync('dpkg-deb', ['-f', deb], { encoding: 'utf8' }).trimEnd();
  const version = /^Version: (.+)$/m.exec(control)![1]!;
  const status = control.replace(/^(Package: .+)$/m, '$1\nStatus: install ok installed') + '\n';
  const listed = execFileSync('sh', ['-c', 'dpkg-deb --fsys-tarfile "$1" | tar -t', 'sh', deb], { encoding: 'utf8', maxBuffer: 64 * 1024 * 1024 });
  const list = listed
    .split('\n')
    .filter(Boolean)
    .map((p) => (p === './' ? '/.' : `/${p.replace(/^\.\//, '').replace(/\/$/, '')}`));
  const files: Record<string, Buffer | string> = { [`var/lib/dpkg/info/${name}.list`]: `${list.join('\n')}\n` };
  for (const rel of walk(root)) files[rel] = readFileSync(path.join(root, rel));
  return { name, version, status, files };
}
