/**
 * The archive file: JSON lines, a header naming where the segment starts (the chain point
 * before its first entry), the entries as they were in Redis, and a signed trailer naming where
 * it ends and how many entries it holds. Entries carry their own MACs, so the file proves
 * itself with the audit key alone; the trailer catches a file cut short.
 */
import { createReadStream } from 'node:fs';
import { createInterface } from 'node:readline';
import { z } from 'zod';
import { canonicalJson, type AuditEntry, type Break, type ChainPoint } from './chain';
import type { AuditKeyring } from './keys';
import type { TrailVerifier } from './verify';

export const ARCHIVE_TYPE = 'portcullis.audit.archive';
export const ARCHIVE_END_TYPE = 'portcullis.audit.archive.end';

const point = z.object({ seq: z.number().int().min(0), hash: z.string() });
const headerSchema = z.object({ type: z.literal(ARCHIVE_TYPE), v: z.literal(1), prefix: z.string(), from: point, createdAt: z.string() });
const trailerSchema = z.object({ type: z.literal(ARCHIVE_END_TYPE), prefix: z.string(), from: point, to: point, count: z.number().int(), keyId: z.string(), mac: z.string() });

export interface ArchiveSpan {
  prefix: string;
  from: ChainPoint;
  to: ChainPoint;
  count: number;
}

const trailerMessage = (s: ArchiveSpan): string => canonicalJson({ prefix: s.prefix, from: s.from, to: s.to, count: s.count });

export function archiveHeader(prefix: string, from: ChainPoint, now = new Date()): string {
  return JSON.stringify({ type: ARCHIVE_TYPE, v: 1, prefix, from, createdAt: now.toISOString() });
}

export function archiveTrailer(keys: AuditKeyring, span: ArchiveSpan): string {
  return JSON.stringify({ type: ARCHIVE_END_TYPE, ...span, ...keys.sign('archive', trailerMessage(span)) });
}

/**
 * Feeds an archive file to `v` (which may already hold the archives before it). Returns the
 * span it proves, or the first break; `seq` 0 when the file itself is malformed.
 */
export async function walkArchiveFile(keys: AuditKeyring, file: string, v: TrailVerifier): Promise<{ span: ArchiveSpan } | { broken: Break }> {
  const fail = (reason: string, seq = 0) => ({ broken: { ok: false as const, count: v.count, seq, reason: `${file}: ${reason}` } });
  const lines = createInterface({ input: createReadStream(file, 'utf8'), crlfDelay: Infinity });
  let header: z.infer<typeof headerSchema> | null = null;
  let trailer: z.infer<typeof trailerSchema> | null = null;
  let count = 0;
  let last: ChainPoint | null = null;
  let n = 0;
  for await (const line of lines) {
    n += 1;
    if (line === '') continue;
    if (trailer) return fail(`line ${n} follows the signed trailer (lines appended)`);
    let value: unknown;
    try {
      value = JSON.parse(line);
    } catch {
      return fail(`line ${n} is not JSON (file altered)`, (last?.seq ?? 0) + 1);
    }
    if (!header) {
      const h = headerSchema.safeParse(value);
      if (!h.success) return fail('does not start with an audit archive header');
      header = h.data;
      const started = v.begin(header.from, file);
      if (started) return { broken: started };
      last = header.from;
      continue;
    }
    const t = trailerSchema.safeParse(value);
    if (t.success) {
      trailer = t.data;
      continue;
    }
    if (typeof value !== 'object' || value === null || Array.isArray(value)) return fail(`line ${n} is not an entry (file altered)`, (last?.seq ?? 0) + 1);
    const broken = v.push(value as AuditEntry);
    if (broken) return { broken: { ...broken, reason: `${file}: ${broken.reason}` } };
    last = { seq: (value as AuditEntry).seq, hash: (value as AuditEntry).hash };
    count += 1;
  }
  if (!header || !last) return fail('is empty or has no header');
  if (!trailer) return fail(`ends at seq ${last.seq} without its signed trailer (file cut short)`, last.seq + 1);
  const span: ArchiveSpan = { prefix: trailer.prefix, from: trailer.from, to: trailer.to, count: trailer.count };
  if (!keys.check(trailer.keyId, 'archive', trailerMessage(span), trailer.mac)) return fail('the trailer is not signed by a key of PORTCULLIS_AUDIT_KEY (trailer forged or altered)', last.seq);
  if (span.prefix !== header.prefix || span.from.seq !== header.from.seq || span.from.hash !== header.from.hash) return fail('header and trailer disagree on where the segment starts (file altered)');
  if (span.to.seq !== last.seq || span.to.hash !== last.hash || span.count !== count) {
    return fail(`the trailer signs seq ${span.to.seq} (${span.count} entries) but the file holds up to seq ${last.seq} (${count} entries) (entries removed or added)`, last.seq);
  }
  return { span };
}
