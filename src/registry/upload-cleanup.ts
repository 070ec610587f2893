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

/** Cancels every abandoned session through `client`; returns how many were cancelled. */
export async function cancelAbandonedUploads(
  journal: AbandonedUploads,
  client: { cancelUpload(repository: string, location: URL): Promise<void> },
  logger?: Logger,
): Promise<number> {
  const sessions = await journal.abandoned();
  for (const s of sessions) {
    await client.cancelUpload(s.repository, s.location);
    await s.forget();
  }
  if (sessions.length) logger?.info({ 'upload.sessions': sessions.length }, 'cancelled upload sessions left by a stopped process');
  return sessions.length;
}
