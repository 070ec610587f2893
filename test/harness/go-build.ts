/**
 * Real Go executables for the tests (the scanner's Go binaries, the admission webhook's Go
 * client), built with Debian's golang-go (installed by scripts/debian-packages.sh): offline
 * (GOPROXY=off). For the scanner, the dependency is vendored so the build
 * records it in the binary's build info exactly as a module download would
 * (`dep golang.org/x/text v0.3.7`). The vendored package is a stub: only the build info
 * matters to the scanner.
 */
import { execFileSync } from 'node:child_process';
import { mkdirSync, mkdtempSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';

export function buildGoProgram(dep = { path: 'golang.org/x/text', version: 'v0.3.7', pkg: 'language' }): string {
  const dir = mkdtempSync(path.join(os.tmpdir(), 'pcs-gobuild-'));
  const w = (rel: string, text: string): void => {
    mkdirSync(path.dirname(path.join(dir, rel)), { recursive: true });
    writeFileSync(path.join(dir, rel), text);
  };
  w('go.mod', `module example.com/app\n\ngo 1.19\n\nrequire ${dep.path} ${dep.version}\n`);
  w('main.go', `package main\n\nimport (\n\t"fmt"\n\n\t"${dep.path}/${dep.pkg}"\n)\n\nfunc main() { fmt.Println(${dep.pkg}.Name()) }\n`);
  w(`vendor/${dep.path}/${dep.pkg}/${dep.pkg}.go`, `package ${dep.pkg}\n\nfunc Name() string { return "stub" }\n`);
  w('vendor/modules.txt', `# ${dep.path} ${dep.version}\n## explicit\n${dep.path}/${dep.pkg}\n`);
  return goBuild(dir, dir, { GOFLAGS: '-mod=vendor' });
}

/** `go build` of the program in `source`, offline, into `<out>/app`; the executable's path. */
function goBuild(source: string, out: string, env: Record<string, string> = {}): string {
  const goEnv = { ...process.env, GOPROXY: 'off', GOTOOLCHAIN: 'local', CGO_ENABLED: '0', GOCACHE: process.env.PORTCULLIS_TEST_GOCACHE ?? path.join(os.tmpdir(), 'pcs-gocache'), HOME: out, ...env };
  execFileSync('go', ['build', '-o', path.join(out, 'app'), '.'], { cwd: source, env: goEnv, stdio: ['ignore', 'ignore', 'pipe'] });
  return path.join(out, 'app');
}

/**
 * Builds the Go program in `source` (a folder with its go.mod and no dependencies beyond the
 * standard library) offline; the executable's path.
 */
export function buildGoSource(source: string): string {
  return goBuild(source, mkdtempSync(path.join(os.tmpdir(), 'pcs-gobuild-')));
}

/** `go version -m <file>`: the Go version and the module lines, as the go tool reads them. */
export function goVersionM(file: string): { goVersion: string; lines: string[] } {
  const out = execFileSync('go', ['version', '-m', file], { encoding: 'utf8' });
  const [head, ...rest] = out.trimEnd().split('\n');
  return { goVersion: head!.slice(head!.lastIndexOf(' ') + 1), lines: rest.map((l) => l.trim()).filter((l) => /^(path|mod|dep|=>)\t/.test(l)) };
}
