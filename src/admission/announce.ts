/**
 * Announces ledger changes to every webhook replica over Redis pub/sub, as a subscriber of the
 * domain event bus (in the API and worker processes, where changes happen): a revocation carries
 * the revocation itself, so replicas deny at once without reading anything; an approval or a
 * lifted revocation tells the team's replicas to reload; a break-glass exception granted or revoked
 * carries itself too, so that it takes effect without a reload. Pub/sub may drop a message while a replica
 * is disconnected; replicas reload in full on reconnect and every resync, so none is lost for good.
 */
import type Redis from 'ioredis';
import type { AdmissionException } from './exceptions';
import type { LedgerChange } from './sync';

interface LedgerEvent {
  type: string;
  actor: string;
  details: Record<string, unknown>;
}

const str = (v: unknown): string | undefined => (typeof v === 'string' ? v : undefined);

/** The exception an `exception.granted` event describes (ExceptionService's details). */
function exceptionOf(d: Record<string, unknown>, team: string): AdmissionException | null {
  const id = str(d.id);
  const expires = str(d.expires);
  if (!id || !expires) return null;
  const opt = (k: 'image' | 'tag' | 'digest' | 'namespace') => (str(d[k]) !== undefined ? { [k]: str(d[k]) } : {});
  return { id, team, ...opt('image'), ...opt('tag'), ...opt('digest'), ...opt('namespace'), reason: str(d.reason) ?? '', expires, by: str(d.grantedBy) ?? '', at: str(d.grantedAt) ?? '' };
}

export function ledgerChange(event: LedgerEvent): LedgerChange | null {
  const d = event.details;
  const team = str(d.team);
  if (!team) return null;
  if (event.type === 'approval.revoked' && str(d.digest)) {
    const image = str(d.image);
    return { type: 'revoked', revocation: { team, digest: str(d.digest)!, ...(d.allNames === true || !image ? {} : { image }), reason: str(d.reason) ?? '', by: event.actor, at: str(d.at) ?? new Date().toISOString() } };
  }
  if (event.type === 'exception.granted') {
    const exception = exceptionOf(d, team);
    return exception ? { type: 'exception.granted', exception } : { type: 'changed', team };
  }
  if (event.type === 'exception.revoked' && str(d.id)) return { type: 'exception.revoked', team, id: str(d.id)! };
  if (event.type === 'approval.unrevoked' || (event.type === 'request.status_changed' && d.to === 'approved')) return { type: 'changed', team };
  return null;
}

export function ledgerAnnouncer(redis: Pick<Redis, 'publish'>, channel: string): (event: LedgerEvent) => Promise<void> {
  return async (event) => {
    const change = ledgerChange(event);
    if (change) await redis.publish(channel, JSON.stringify(change));
  };
}
