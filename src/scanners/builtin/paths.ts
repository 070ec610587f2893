/**
 * Which files in an image the builtin scanner reads, and how. Everything else is skipped
 * without being buffered. Paths are normalized: no leading `/` or `./`.
 */
import { JAVA_ARCHIVE } from './analyzers/java-archive';
import { NPM_MANIFEST } from './parsers/npm';
import { PYTHON_METADATA } from './parsers/python';

/** `go-binary` is never classified by path: an executable is recognised by its bytes. */
export type FileKind = 'dpkg-status' | 'dpkg-list' | 'apk-installed' | 'go-binary' | 'rpmdb-sqlite' | 'rpmdb-bdb' | 'java-archive' | 'npm' | 'python' | 'os-release' | 'secret-candidate';

const SECRET_NAMES = /(?:^|\/)(?:id_rsa|id_dsa|id_ecdsa|id_ed25519|\.git-credentials|\.pgpass)$/;
const SECRET_PATHS = /(?:^|\/)(?:\.aws\/credentials|\.npmrc|\.docker\/config\.json|\.pypirc)$/;
const KEY_FILES = /\.(?:pem|key|p8)$/;

export function classify(path: string): FileKind | null {
  if (path === 'var/lib/dpkg/status' || /^var\/lib\/dpkg\/status\.d\/[^/.]+$/.test(path)) return 'dpkg-status';
  if (path === 'lib/apk/db/installed') return 'apk-installed';
  if (/^var\/lib\/dpkg\/info\/[^/]+\.list$/.test(path)) return 'dpkg-list';
  if (path === 'var/lib/rpm/rpmdb.sqlite' || path === 'usr/lib/sysimage/rpm/rpmdb.sqlite') return 'rpmdb-sqlite';
  if (path === 'var/lib/rpm/Packages' || path === 'usr/lib/sysimage/rpm/Packages') return 'rpmdb-bdb';
  if (path === 'etc/os-release' || path === 'usr/lib/os-release') return 'os-release';
  if (NPM_MANIFEST.test(path)) return 'npm';
  if (JAVA_ARCHIVE.test(path)) return 'java-archive';
  if (PYTHON_METADATA.test(path)) return 'python';
  if (SECRET_NAMES.test(path) || SECRET_PATHS.test(path) || KEY_FILES.test(path)) return 'secret-candidate';
  return null;
}

/** Largest file of each kind that is read; a bigger one is skipped (secrets) or fails the scan. */
export const READ_CAP: Record<FileKind, number> = {
  'dpkg-status': 64 * 1024 * 1024,
  'apk-installed': 64 * 1024 * 1024,
  // The longest lists (kernel images, firmware) are a few MB.
  'dpkg-list': 32 * 1024 * 1024,
  // Streamed and searched, never read whole (./analyzers/go-buildinfo.ts).
  'go-binary': 0,
  // A full RHEL userland's database is tens of MB.
  'rpmdb-sqlite': 256 * 1024 * 1024,
  // Berkeley DB rpm databases are as big as SQLite ones; a bigger one is a coverage finding.
  'rpmdb-bdb': 256 * 1024 * 1024,
  // Fat JARs and WARs of large applications reach a few hundred MB.
  'java-archive': 512 * 1024 * 1024,
  'os-release': 64 * 1024,
  npm: 4 * 1024 * 1024,
  python: 4 * 1024 * 1024,
  // Key and credential files are small; a large *.pem is a certificate bundle, not a key.
  'secret-candidate': 1024 * 1024,
};

/**
 * Normalizes a tar entry name; null when it escapes the root (`..` segments), which the
 * scanner refuses rather than guessing what an extractor would do with it.
 */
export function normalizeEntryPath(name: string): string | null {
  const parts: string[] = [];
  for (const seg of name.replace(/\\/g, '/').split('/')) {
    if (seg === '' || seg === '.') continue;
    if (seg === '..') return null;
    parts.push(seg);
  }
  return parts.join('/');
}
