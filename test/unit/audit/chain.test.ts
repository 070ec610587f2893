import { createHash, randomBytes } from 'node:crypto';
import { canonicalJson, GENESIS_HASH, sealEntry, verifyChain, type AuditEntry } from '../../../src/audit/chain';
import { AuditKeyring } from '../../../src/audit/keys';

const k1 = randomBytes(32);
const keys = new AuditKeyring([{ id: 'k1', key: k1 }]);

function chain(n: number, ring = keys, start = { seq: 0, hash: GENESIS_HASH }): AuditEntry[] {
  const out: AuditEntry[] = [];
  let prev = start.hash;
  for (let seq = start.seq + 1; seq <= start.seq + n; seq++) {
    const e = sealEntry(ring, { seq, at: `2026-01-01T00:00:0${seq % 10}Z`, actor: 'alice', action: 'request.created', target: `request/${seq}`, details: { b: 2, a: [1, { d: 1, c: 2 }] }, prevHash: prev });
    out.push(e);
    prev = e.hash;
  }
  return out;
}

describe('audit hash chain', () => {
  it('canonical JSON sorts keys at every level and drops undefined members', () => {
    expect(canonicalJson({ b: 1, a: { d: [2, { z: 1, y: 2 }], c: undefined } })).toBe('{"a":{"d":[2,{"y":2,"z":1}]},"b":1}');
  });

  it('authenticates the same content the same whatever the key order', () => {
    const a = sealEntry(keys, { seq: 1, at: 'x', actor: 'a', action: 'b', target: 't', details: { x: 1, y: 2 }, prevHash: GENESIS_HASH });
    const b = sealEntry(keys, { prevHash: GENESIS_HASH, details: { y: 2, x: 1 }, target: 't', action: 'b', actor: 'a', at: 'x', seq: 1 });
    expect(a.hash).toBe(b.hash);
    expect(a.keyId).toBe('k1');
  });

  it('accepts an intact chain and reports its head', () => {
    const entries = chain(4);
    expect(verifyChain(keys, entries, { seq: 4, hash: entries[3].hash })).toEqual({ ok: true, count: 4, lastHash: entries[3].hash });
  });

  it('accepts a chain that starts at an archive anchor, and refuses it from genesis', () => {
    const entries = chain(3, keys, { seq: 10, hash: 'a'.repeat(64) });
    expect(verifyChain(keys, entries, undefined, { seq: 10, hash: 'a'.repeat(64) })).toMatchObject({ ok: true, count: 3 });
    expect(verifyChain(keys, entries)).toMatchObject({ ok: false, seq: 11 });
  });

  it('names the entry whose content was altered', () => {
    const entries = chain(4);
    entries[2] = { ...entries[2], actor: 'mallory' };
    expect(verifyChain(keys, entries)).toMatchObject({ ok: false, seq: 3 });
  });

  it('refuses an altered entry whose chain was recomputed without the key (plain SHA-256, or another key)', () => {
    const entries = chain(4);
    const { hash: _drop, ...rest } = { ...entries[1], details: { forged: true } };
    const sha = createHash('sha256').update(canonicalJson(rest)).digest('hex');
    expect(verifyChain(keys, [entries[0], { ...rest, hash: sha }])).toMatchObject({ ok: false, seq: 2, reason: expect.stringContaining('MAC') });
    const mallory = new AuditKeyring([{ id: 'k1', key: randomBytes(32) }]);
    expect(verifyChain(keys, chain(4, mallory))).toMatchObject({ ok: false, seq: 1 });
  });

  it('names an entry signed with a key id the key ring lacks', () => {
    const other = new AuditKeyring([{ id: 'k9', key: randomBytes(32) }]);
    expect(verifyChain(keys, chain(1, other))).toMatchObject({ ok: false, seq: 1, reason: expect.stringContaining("'k9'") });
  });

  it('verifies entries of a rotated-out key kept for verification', () => {
    const old = chain(2);
    const rotated = new AuditKeyring([{ id: 'k2', key: randomBytes(32) }, { id: 'k1', key: k1 }]);
    const next = chain(2, rotated, { seq: 2, hash: old[1].hash });
    expect(next[0].keyId).toBe('k2');
    expect(verifyChain(rotated, [...old, ...next])).toMatchObject({ ok: true, count: 4 });
  });

  it('detects a deleted middle entry and a deleted tail', () => {
    const entries = chain(4);
    expect(verifyChain(keys, [entries[0], entries[2], entries[3]])).toMatchObject({ ok: false, seq: 3 });
    expect(verifyChain(keys, entries.slice(0, 3), { seq: 4, hash: entries[3].hash })).toMatchObject({ ok: false, seq: 4 });
  });
});
