import path from 'node:path';
import { BuiltinScanner } from '../../../../src/scanners/builtin/adapter';
import { runsAsRoot } from '../../../../src/scanners/builtin/hardening';
import { secretInEnv } from '../../../../src/scanners/builtin/secrets';
import { buildImage } from '../../../harness/images';
import { MemoryRegistry } from './memory-registry';

const OSV = path.join(__dirname, '../../../fixtures/osv/db');
const AWS_KEY = 'AKIAIOSFODNN7EXAMPLE';
const GH_TOKEN = `ghp_${'a1B2'.repeat(9)}`;
const PRIVATE_KEY = '-----BEGIN OPENSSH PRIVATE KEY-----\nb3BlbnNzaC1rZXktdjEAAAAA\n-----END OPENSSH PRIVATE KEY-----\n';

describe('hardening checks (CIS Docker Benchmark 4.x)', () => {
  test('one image with every problem gives one finding per problem, without secret values', async () => {
    const img = await buildImage({
      layers: [
        {
          files: {
            'root/.ssh/id_rsa': PRIVATE_KEY,
            'app/.npmrc': '//registry.npmjs.org/:_authToken=npm_abcdefghijklmnopqrstuvwxyz0123456789\n',
            'root/.aws/credentials': '[default]\naws_access_key_id = AKIA...\naws_secret_access_key = s3cr3tvalue\n',
            'root/.docker/config.json': JSON.stringify({ auths: { 'r.example': { auth: 'dXNlcjpzM2NyM3Q=' } } }),
            'etc/ssl/certs/ca.pem': '-----BEGIN CERTIFICATE-----\nMIIB\n-----END CERTIFICATE-----\n',
            'usr/bin/passwd': { content: 'ELF', mode: 0o4755 },
            'usr/bin/wall': { content: 'ELF', mode: 0o2755 },
            'usr/bin/ls': { content: 'ELF', mode: 0o755 },
          },
        },
        // A later layer drops the setuid bit from wall: no finding for it.
        { files: { 'usr/bin/wall': { content: 'ELF', mode: 0o755 } } },
      ],
      config: {
        Env: ['PATH=/usr/bin', `AWS_ACCESS_KEY_ID=${AWS_KEY}`, 'DB_PASSWORD=hunter2', `GH=${GH_TOKEN}`, 'DB_PASSWORD_FILE=/run/secrets/db', 'EMPTY_TOKEN='],
      },
      history: [
        { created_by: '/bin/sh -c #(nop) ADD https://user:tok3n@downloads.example.com/app.tgz?sig=abc /opt/' },
        { created_by: 'ADD --chown=1:1 file:abc in /etc/ # buildkit' },
        { created_by: 'COPY https-notes.txt /x' },
      ],
    });
    const registry = new MemoryRegistry().addImage(img);
    const r = await new BuiltinScanner({ name: 'b', osvPath: OSV }).scan({ registry, repository: 'r', digest: img.digest, registryUrl: registry.url });
    const ids = r.findings.map((f) => f.id).sort();
    expect(ids).toEqual([
      'CIS-4.1-ROOT-USER',
      'CIS-4.10-SECRET-ENV:AWS_ACCESS_KEY_ID',
      'CIS-4.10-SECRET-ENV:DB_PASSWORD',
      'CIS-4.10-SECRET-ENV:GH',
      'CIS-4.10-SECRET-FILE:/app/.npmrc',
      'CIS-4.10-SECRET-FILE:/root/.aws/credentials',
      'CIS-4.10-SECRET-FILE:/root/.docker/config.json',
      'CIS-4.10-SECRET-FILE:/root/.ssh/id_rsa',
      'CIS-4.8-SETUID:/usr/bin/passwd',
      'CIS-4.9-ADD-URL:0',
    ]);
    expect(r.findings.every((f) => f.kind === 'misconfiguration')).toBe(true);
    const text = JSON.stringify(r.findings);
    for (const secret of [AWS_KEY, 'hunter2', GH_TOKEN, 'tok3n', 'sig=abc', 's3cr3tvalue', 'dXNlcjpzM2NyM3Q=', 'b3BlbnNzaC1rZXktdjEAAAAA']) {
      expect(text).not.toContain(secret);
    }
    expect(r.findings.find((f) => f.id === 'CIS-4.9-ADD-URL:0')?.title).toContain('downloads.example.com');
    expect(r.findings.find((f) => f.id === 'CIS-4.8-SETUID:/usr/bin/passwd')).toMatchObject({ severity: 'low', layer: img.layers[0]!.digest });
  });

  test.each([
    [undefined, true],
    ['', true],
    ['root', true],
    ['0', true],
    ['0:0', true],
    ['root:wheel', true],
    ['1000', false],
    ['app', false],
    ['1000:0', false],
    ['00', true],
  ])('User %p runs as root: %p', (user, root) => {
    expect(runsAsRoot(user)).toBe(root);
  });

  test.each([
    ['API_KEY', 'abc', 'credential-named variable'],
    ['X', '-----BEGIN RSA PRIVATE KEY-----', 'private key'],
    ['SLACK', 'xoxb-123456789012-abcdef', 'Slack token'],
    ['DB_PASSWORD_FILE', '/run/secrets/x', null],
    ['PASSWORD', '', null],
    ['HOME', '/root', null],
  ])('env %s', (name, value, kind) => {
    expect(secretInEnv(name, value)?.kind ?? null).toBe(kind);
  });
});
