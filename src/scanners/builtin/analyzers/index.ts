/**
 * Analyzers of binary files that are read whole (under their kind's read cap) and parsed
 * from bytes rather than text: the layer reader looks the kind up here.
 */
import type { PathFacts } from '../filesystem';
import type { ScanLimits } from '../limits';
import type { FileKind } from '../paths';
import { readJavaArchive } from './java-archive';
import { readRpmBdb, readRpmSqlite } from './rpmdb';

/** Each reads `bytes`, the file at `path` (normalized, no leading `/`; named in a limit's error). */
export const BINARY_ANALYZERS: Partial<Record<FileKind, (bytes: Buffer, limits: ScanLimits, path: string) => Promise<Partial<PathFacts>>>> = {
  'rpmdb-sqlite': readRpmSqlite,
  'rpmdb-bdb': readRpmBdb,
  // Its second parameter is the archive's own caps, not the scan's limits: its defaults apply.
  'java-archive': (bytes) => readJavaArchive(bytes),
};
