/** The scanners section and TLS settings of the configuration: defaults, secrets from env, pairing. */
import { applyEnv, ConfigError, parseConfig, scannerEnvName } from '../../../src/lib/config';

const base = { internalRegistry: { url: 'http://127.0.0.1:5000' } };

describe('scanners configuration', () => {
  it('defaults to one builtin scanner on /var/lib/portcullis/osv; [] is allowed', () => {
    expect(parseConfig(base).scanners).toEqual([expect.objectContaining({ name: 'builtin', type: 'builtin', osvPath: '/var/lib/portcullis/osv', hardening: true })]);
    expect(parseConfig({ ...base, scanners: [] }).scanners).toEqual([]);
  });

  it('takes each remote scanner\'s secret from the environment, only where that type takes it', () => {
    const raw = {
      ...base,
      scanners: [
        { name: 'clair-prod', type: 'clair', url: 'http://127.0.0.1:6060' },
        { name: 'trivy', type: 'harbor', url: 'http://127.0.0.1:8090' },
        { name: 'local', type: 'builtin', osvPath: '/osv' },
      ],
    };
    const env = {
      [scannerEnvName('clair-prod', 'PSK')]: Buffer.from('secret-key').toString('base64'),
      [scannerEnvName('trivy', 'AUTHORIZATION')]: 'Bearer t0ken',
      [scannerEnvName('local', 'PSK')]: 'ignored',
    };
    expect(scannerEnvName('clair-prod', 'PSK')).toBe('PORTCULLIS_SCANNER_CLAIR_PROD_PSK');
    const cfg = parseConfig(applyEnv(raw, env));
    expect(cfg.scanners[0]).toMatchObject({ name: 'clair-prod', psk: Buffer.from('secret-key').toString('base64') });
    expect(cfg.scanners[1]).toMatchObject({ name: 'trivy', authorization: 'Bearer t0ken' });
    expect(cfg.scanners[2]).not.toHaveProperty('psk');
  });

  it.each([
    [{ scanners: [{ name: 'x', type: 'grype' }] }, /^config: scanners\[0\]\.type: /],
    [{ scanners: [{ name: 'x', type: 'builtin' }] }, /^config: scanners\[0\]\.osvPath: /],
    [{ scanners: [{ name: 'a', type: 'builtin', osvPath: '/o' }, { name: 'a', type: 'builtin', osvPath: '/p' }] }, /^config: scanners\[1\]\.name: duplicate/],
    [{ server: { tlsCertFile: '/c.pem' } }, /^config: server\.tlsKeyFile: must be set together with server\.tlsCertFile$/],
    [{ server: { tlsKeyFile: '/k.pem' } }, /^config: server\.tlsCertFile: must be set together with server\.tlsKeyFile$/],
  ])('rejects %j naming the key', (bad, pattern) => {
    let err: unknown;
    try { parseConfig({ ...base, ...bad }); } catch (e) { err = e; }
    expect(err).toBeInstanceOf(ConfigError);
    expect((err as Error).message).toMatch(pattern);
  });

  it('accepts a certificate and key together', () => {
    expect(parseConfig({ ...base, server: { tlsCertFile: '/c.pem', tlsKeyFile: '/k.pem' } }).server).toMatchObject({ tlsCertFile: '/c.pem', tlsKeyFile: '/k.pem' });
  });
});
