import { canRead, decidableTeams, readableTeams, requireRole } from '../../../src/intake/access';
import { approvedRepository, approvedTag, hostComponent, quarantineRepository } from '../../../src/intake/paths';
import type { Principal } from '../../../src/lib/identity/types';

const p = (roles: Principal['roles'], teams: string[]): Principal => ({ name: 'x', roles, teams });

describe('access rules', () => {
  it('teams isolate; auditors read everything; * is every team', () => {
    expect(canRead(p(['developer'], ['payments']), 'payments')).toBe(true);
    expect(canRead(p(['developer'], ['payments']), 'logistics')).toBe(false);
    expect(canRead(p(['auditor'], []), 'logistics')).toBe(true);
    expect(readableTeams(p(['approver'], ['*']))).toBe('*');
    expect(readableTeams(p(['developer'], ['a', 'b']))).toEqual(['a', 'b']);
  });

  it('only approvers and admins decide; a missing role is FORBIDDEN', () => {
    expect(decidableTeams(p(['developer', 'auditor'], ['*']))).toEqual([]);
    expect(decidableTeams(p(['admin'], ['*']))).toBe('*');
    expect(() => requireRole(p(['ci'], ['payments']), ['approver', 'admin'], 'approving')).toThrow(expect.objectContaining({ code: 'FORBIDDEN', status: 403 }));
  });
});

describe('internal repository paths', () => {
  const src = { registry: 'localhost:5000', repository: 'library/nginx', tag: '1.25' };

  it('turns a host with a port into a legal path component', () => {
    expect(hostComponent('LocalHost:5000')).toBe('localhost_5000');
    expect(hostComponent('docker.io')).toBe('docker.io');
  });

  it('fills the quarantine prefix and the approved-path template', () => {
    expect(quarantineRepository('quarantine', src)).toBe('quarantine/localhost_5000/library/nginx');
    expect(approvedRepository('approved/{team}/{registry}/{repository}', 'payments', src)).toBe('approved/payments/localhost_5000/library/nginx');
  });

  it('tags with the source tag, or digest-<hex> for a digest-only request (never the referrers tag sha256-<hex>)', () => {
    const hex = 'ab'.repeat(32);
    expect(approvedTag(src, `sha256:${hex}`)).toBe('1.25');
    expect(approvedTag({ registry: 'r', repository: 'x' }, `sha256:${hex}`)).toBe(`digest-${hex}`);
    // sha512: 128 hex digits do not fit a tag (128 characters at most) with any prefix; cut, still unique in practice.
    const long = approvedTag({ registry: 'r', repository: 'x' }, `sha512:${'cd'.repeat(64)}`);
    expect(long).toBe(`digest-sha512-${'cd'.repeat(64)}`.slice(0, 128));
    expect(long).toMatch(/^[a-zA-Z0-9_][a-zA-Z0-9._-]{0,127}$/);
  });
});
