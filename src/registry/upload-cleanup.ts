/**
 * Cancels upload sessions that a killed process left open on the internal registry. The
 * distribution spec's way to end a session is `DELETE` on its URL; the registry then drops
 * the partial data at once instead of keeping it until its own purge (a week by default).
 * Which sessions are abandoned is the journal's to know (its writer stopped renewing).
 */
import type { Logger } from '../lib/logger';

/** An open session whose process is gone. */
export interface AbandonedUpload {
  repository: string;
  location: URL;
  /** Removes the note once the session is cancelled. */
  forget(): Promise<void>;
}

/** The journal's reading side (see UploadJournal for the writing side). */
export interface AbandonedUploads {
  abandoned(): Promise<AbandonedUpload[]>;
}

/**
 * Cancels every abandoned session through `client`; returns how many were cancelled (or were
 * already gone). A session the registry refuses to cancel (it holds bytes of an upload cut
 * short, see CancelOutcome) is logged by path and forgotten: asking again cannot help, and the
 * registry's upload purging (`storage.maintenance.uploadpurging`) is what removes it. One that
 * failed for another reason (the registry away) stays noted for the next run.
 */
export async function cancelAbandonedUploads(
  journal: AbandonedUploads,
  client: { cancelUpload(repository: string, location: URL): Promise<'cancelled' | 'unknown' | 'refused' | 'failed'> },
  logger?: Logger,
): Promise<number> {
  const sessions = await journal.abandoned();
  let cancelled = 0;
  const refused: string[] = [];
  for (const s of sessions) {
    const outcome = await client.cancelUpload(s.repository, s.location);
    if (outcome === 'failed') continue;
    if (outcome === 'refused') refused.push(s.location.pathname);
    else cancelled++;
    await s.forget();
  }
  if (cancelled) logger?.info({ 'upload.sessions': cancelled }, 'cancelled upload sessions left by a stopped process');
  if (refused.length) {
    logger?.warn({ 'upload.sessions': refused }, 'the registry refused to cancel upload sessions that hold bytes of an upload cut short; its upload purging removes them');
  }
  return cancelled;
}
