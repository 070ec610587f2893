import { writeFileSync } from 'node:fs';
import path from 'node:path';
import { ConfigError } from '../../../src/lib/config';
import { sha256Hex, TokensFileIdentityProvider } from '../../../src/identity/tokens-file';
import { tempDir } from '../../harness/proc';

function file(content: string): string {
  const f = path.join(tempDir('tokens'), 'tokens.yaml');
  writeFileSync(f, content);
  return f;
}

describe('tokens-file identity provider', () => {
  const yaml = `principals:
  - { name: alice, roles: [developer], teams: [payments], tokenSha256: ${sha256Hex('alice-token')} }
  - { name: bob, roles: [approver, admin], teams: ['*'], tokenSha256: ${sha256Hex('bob-token')} }
`;

  it('finds the principal whose token hash matches', async () => {
    const idp = TokensFileIdentityProvider.fromFile(file(yaml));
    expect(await idp.authenticate('alice-token')).toEqual({ name: 'alice', roles: ['developer'], teams: ['payments'], subject: 'tokens-file:alice', source: 'tokens-file' });
    expect(await idp.authenticate('bob-token')).toMatchObject({ name: 'bob', teams: ['*'] });
  });

  it('links an entry to the same person\'s other subjects (sameAs), and refuses one that is not a subject', async () => {
    const idp = TokensFileIdentityProvider.fromFile(file(`- { name: carol, roles: [approver], teams: [t], tokenSha256: ${sha256Hex('c')}, sameAs: ['oidc:https://login.bank.test#00u1'] }\n`));
    expect(await idp.authenticate('c')).toMatchObject({ subject: 'tokens-file:carol', sameAs: ['oidc:https://login.bank.test#00u1'] });
    expect(() => TokensFileIdentityProvider.fromFile(file(`- { name: d, roles: [approver], tokenSha256: ${sha256Hex('d')}, sameAs: [alice] }\n`)))
      .toThrow(/0\.sameAs\.0: must be a subject/);
  });

  it('answers null for an unknown or empty token', async () => {
    const idp = TokensFileIdentityProvider.fromFile(file(yaml));
    expect(await idp.authenticate('alice-token ')).toBeNull();
    expect(await idp.authenticate('')).toBeNull();
  });

  it('accepts a bare list of principals', async () => {
    const idp = TokensFileIdentityProvider.fromFile(file(`- { name: ci, roles: [ci], teams: [t], tokenSha256: ${sha256Hex('x')} }\n`));
    expect(await idp.authenticate('x')).toMatchObject({ name: 'ci' });
  });

  it('stops with a line naming the bad entry: plain token instead of a hash, unknown role, duplicates', () => {
    expect(() => TokensFileIdentityProvider.fromFile(file('- { name: a, roles: [developer], tokenSha256: secret }\n')))
      .toThrow(/0\.tokenSha256/);
    expect(() => TokensFileIdentityProvider.fromFile(file(`- { name: a, roles: [root], tokenSha256: ${sha256Hex('a')} }\n`)))
      .toThrow(ConfigError);
    expect(() => TokensFileIdentityProvider.fromFile(file(`- { name: a, roles: [ci], tokenSha256: ${sha256Hex('a')} }\n- { name: a, roles: [ci], tokenSha256: ${sha256Hex('b')} }\n`)))
      .toThrow(/appears twice/);
  });

  it('never echoes the file content (a token) in its error', () => {
    expect(() => TokensFileIdentityProvider.fromFile(file('- { name: a, roles: [ci], tokenSha256: my-secret-token }\n')))
      .toThrow(expect.objectContaining({ message: expect.not.stringContaining('my-secret-token') }));
  });
});
