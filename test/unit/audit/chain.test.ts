import { canonicalJson, entryHash, GENESIS_HASH, verifyChain, type AuditEntry } from '../../../src/audit/chain';

function chain(n: number): AuditEntry[] {
  const out: AuditEntry[] = [];
  let prev = GENESIS_HASH;
  for (let seq = 1; seq <= n; seq++) {
    const base = { seq, at: `2026-01-01T00:00:0${seq}Z`, actor: 'alice', action: 'request.created', target: `request/${seq}`, details: { b: 2, a: [1, { d: 1, c: 2 }] }, prevHash: prev };
    const e = { ...base, hash: entryHash(base) };
    out.push(e);
    prev = e.hash;
  }
  return out;
}

describe('audit hash chain', () => {
  it('canonical JSON sorts keys at every level and drops undefined members', () => {
    expect(canonicalJson({ b: 1, a: { d: [2, { z: 1, y: 2 }], c: undefined } })).toBe('{"a":{"d":[2,{"y":2,"z":1}]},"b":1}');
  });

  it('hashes the same content the same whatever the key order', () => {
    const a = { seq: 1, at: 'x', actor: 'a', action: 'b', target: 't', details: { x: 1, y: 2 }, prevHash: GENESIS_HASH };
    const b = { prevHash: GENESIS_HASH, details: { y: 2, x: 1 }, target: 't', action: 'b', actor: 'a', at: 'x', seq: 1 };
    expect(entryHash(a)).toBe(entryHash(b));
  });

  it('accepts an intact chain and reports its head', () => {
    const entries = chain(4);
    expect(verifyChain(entries, { seq: 4, hash: entries[3].hash })).toEqual({ ok: true, count: 4, lastHash: entries[3].hash });
  });

  it('names the entry whose content was altered', () => {
    const entries = chain(4);
    entries[2] = { ...entries[2], actor: 'mallory' };
    expect(verifyChain(entries)).toMatchObject({ ok: false, seq: 3 });
  });

  it('detects an altered entry whose hash was recomputed (the next prevHash breaks)', () => {
    const entries = chain(4);
    const changed = { ...entries[1], details: { forged: true } };
    entries[1] = { ...changed, hash: entryHash(changed) };
    expect(verifyChain(entries)).toMatchObject({ ok: false, seq: 3, reason: expect.stringContaining('prevHash') });
  });

  it('detects a deleted middle entry and a deleted tail', () => {
    const entries = chain(4);
    expect(verifyChain([entries[0], entries[2], entries[3]])).toMatchObject({ ok: false, seq: 3 });
    expect(verifyChain(entries.slice(0, 3), { seq: 4, hash: entries[3].hash })).toMatchObject({ ok: false, seq: 4 });
  });
});
