/**
 * A revocation announced while a replica is reading a snapshot that predates it is not undone
 * when that snapshot lands: the replica applies what it heard meanwhile to the loaded set. The
 * same holds for a break-glass exception's revocation. Real Redis pub/sub.
 */
import Redis from 'ioredis';
import { ledgerAnnouncer, ledgerChannel, LedgerSync, type ApprovedEntry, type AdmissionException } from '../../../src/admission';
import { createLogger } from '../../../src/lib/logger';
import { services, uniqueName } from '../../harness/services';
import { within } from './replica';

const D1 = `sha256:${'3'.repeat(64)}`;
const entry: ApprovedEntry = { team: 'payments', image: 'docker.io/library/nginx', digest: D1, internalRef: `registry.internal/approved/payments/docker.io/library/nginx@${D1}`, tags: ['1.25'], internalTag: '1.25' };
const exception: AdmissionException = { id: 'c'.repeat(16), team: 'payments', image: 'ghcr.io/acme/hotfix', tag: '1', reason: 'INC', expires: new Date(Date.now() + 3600_000).toISOString(), by: 'sec', at: new Date().toISOString() };

it('keeps a revocation heard while an older snapshot was being read', async () => {
  const svc = services();
  const prefix = uniqueName('adm-race');
  const pub = new Redis(svc.redis.url);
  const sub = new Redis(svc.redis.url);
  let gate: Promise<void> | null = null;
  // The ledger as it stood before the revocation, served late when gated.
  const source = { snapshot: async () => { if (gate) await gate; return { approvals: [entry], revoked: [], exceptions: [exception] }; } };
  const sync = new LedgerSync(source, sub, ledgerChannel(prefix), { resyncMs: 600_000, maxStalenessMs: 600_000, debounceMs: 60_000 }, createLogger({ level: 'silent' }));
  try {
    await sync.start();
    expect(sync.set.lookup('payments', entry.internalRef).kind).toBe('approved');
    let open!: () => void;
    gate = new Promise((resolve) => { open = resolve; });
    const reloading = sync.reload();
    const announce = ledgerAnnouncer(pub, ledgerChannel(prefix));
    await announce({ type: 'approval.revoked', actor: 'sec', details: { team: 'payments', digest: D1, reason: 'malware', at: new Date().toISOString() } });
    await announce({ type: 'exception.revoked', actor: 'sec', details: { team: 'payments', id: exception.id } });
    await within(1000, 'the revocations were heard', async () => sync.set.lookup('payments', entry.internalRef).kind === 'revoked' && sync.exceptions.size === 0);
    open();
    expect(await reloading).toBe(true);
    expect(sync.set.lookup('payments', entry.internalRef).kind).toBe('revoked');
    expect(sync.exceptions.size).toBe(0);
  } finally {
    sync.stop();
    sub.disconnect();
    pub.disconnect();
  }
});
