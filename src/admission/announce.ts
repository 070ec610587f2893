/**
 * Announces ledger changes to every webhook replica over Redis pub/sub, as a subscriber of the
 * domain event bus (in the API and worker processes, where changes happen): a revocation carries
 * the revocation itself, so replicas deny at once without reading anything; an approval or a
 * lifted revocation tells the team's replicas to reload. Pub/sub may drop a message while a replica
 * is disconnected; replicas reload in full on reconnect and every resync, so none is lost for good.
 */
import type Redis from 'ioredis';
import type { LedgerChange } from './sync';

interface LedgerEvent {
  type: string;
  actor: string;
  details: Record<string, unknown>;
}

const str = (v: unknown): string | undefined => (typeof v === 'string' ? v : undefined);

export function ledgerChange(event: LedgerEvent): LedgerChange | null {
  const d = event.details;
  const team = str(d.team);
  if (!team) return null;
  if (event.type === 'approval.revoked' && str(d.digest)) {
    const image = str(d.image);
    return { type: 'revoked', revocation: { team, digest: str(d.digest)!, ...(d.allNames === true || !image ? {} : { image }), reason: str(d.reason) ?? '', by: event.actor, at: str(d.at) ?? new Date().toISOString() } };
  }
  if (event.type === 'approval.unrevoked' || (event.type === 'request.status_changed' && d.to === 'approved')) return { type: 'changed', team };
  return null;
}

export function ledgerAnnouncer(redis: Pick<Redis, 'publish'>, channel: string): (event: LedgerEvent) => Promise<void> {
  return async (event) => {
    const change = ledgerChange(event);
    if (change) await redis.publish(channel, JSON.stringify(change));
  };
}
