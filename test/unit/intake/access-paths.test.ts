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

  it('tags with the source tag, or sha256-<hex> for a digest-only request', () => {
    expect(approvedTag(src, 'sha256:ab')).toBe('1.25');
    expect(approvedTag({ registry: 'r', repository: 'x' }, 'sha256:ab')).toBe('sha256-ab');
  });
});
