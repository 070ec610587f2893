/**
 * A real rpm database (SQLite, as RHEL 9 / Rocky 9 / Fedora write it) made with Debian's rpm
 * tools: each package is built with `rpmbuild` from a minimal spec, then recorded with
 * `rpm --dbpath … -i --justdb`, the way an installer records it. rpm's WAL is checkpointed
 * when it closes the database, so `rpmdb.sqlite` alone holds everything.
 */
import { execFileSync } from 'node:child_process';
import { mkdirSync, mkdtempSync, readdirSync, readFileSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';

export interface RpmSpec {
  name: string;
  epoch?: number;
  version: string;
  release: string;
  /** Absolute path → content. */
  files: Record<string, string>;
  /**
   * Binary packages built from the same source (`%package -n`): each records this package's
   * source rpm (`<name>-<version>-<release>.src.rpm`), as RHEL's subpackages do.
   */
  subpackages?: Array<{ name: string; files: Record<string, string> }>;
}

function installScript(files: Record<string, string>): string[] {
  return Object.entries(files).map(([f, content]) => `mkdir -p %{buildroot}${path.posix.dirname(f)}\nprintf '%s' '${Buffer.from(content).toString('base64')}' | base64 -d > %{buildroot}${f}`);
}

export function rpmDatabase(packages: RpmSpec[]): Buffer {
  const dir = mkdtempSync(path.join(os.tmpdir(), 'pcs-rpm-'));
  const top = path.join(dir, 'top');
  const dbpath = path.join(dir, 'db');
  mkdirSync(dbpath);
  execFileSync('rpm', ['--dbpath', dbpath, '--initdb']);
  for (const p of packages) {
    const subs = p.subpackages ?? [];
    const install = [p.files, ...subs.map((s) => s.files)].flatMap(installScript).join('\n');
    const spec = [
      `Name: ${p.name}`, ...(p.epoch ? [`Epoch: ${p.epoch}`] : []), `Version: ${p.version}`, `Release: ${p.release}`,
      'Summary: test package', 'License: MIT', 'BuildArch: x86_64', '%description', 'test package',
      ...subs.flatMap((s) => [`%package -n ${s.name}`, 'Summary: test subpackage', `%description -n ${s.name}`, 'test subpackage']),
      '%install', install, '%files', ...Object.keys(p.files),
      ...subs.flatMap((s) => [`%files -n ${s.name}`, ...Object.keys(s.files)]), '',
    ].join('\n');
    const specFile = path.join(dir, `${p.name}.spec`);
    writeFileSync(specFile, spec);
    execFileSync('rpmbuild', ['--define', `_topdir ${top}`, '--define', '_build_id_links none', '-bb', specFile], { stdio: ['ignore', 'ignore', 'pipe'] });
  }
  const rpms = path.join(top, 'RPMS', 'x86_64');
  for (const f of readdirSync(rpms)) {
    execFileSync('rpm', ['--dbpath', dbpath, '-i', '--justdb', '--nodeps', '--ignorearch', '--ignoreos', path.join(rpms, f)], { stdio: ['ignore', 'ignore', 'pipe'] });
  }
  return readFileSync(path.join(dbpath, 'rpmdb.sqlite'));
}
