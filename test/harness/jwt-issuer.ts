/**
 * A workload token issuer for tests, as a cluster's service-account issuer is: a key pair made
 * in the test, its JWKS (and a discovery document) served on loopback, tokens signed on demand.
 * `rotate()` replaces the signing key; `jwksFetches` counts JWKS downloads.
 */
import { once } from 'node:events';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { exportJWK, generateKeyPair, SignJWT, type CryptoKey, type JWTPayload } from 'jose';

export interface TestIssuer {
  issuer: string;
  jwksUrl: string;
  readonly jwksFetches: number;
  /** Signs `claims` (iss, iat and a 10-minute exp added unless given; `exp: undefined` leaves it out). */
  sign(claims: JWTPayload, header?: { kid?: string; alg?: string }): Promise<string>;
  /** A new signing key with a new kid; the JWKS then lists only it. */
  rotate(): Promise<void>;
  stop(): Promise<void>;
}

export async function startTestIssuer(): Promise<TestIssuer> {
  let key: { kid: string; privateKey: CryptoKey; publicJwk: Record<string, unknown> };
  let generation = 0;
  const newKey = async (): Promise<void> => {
    const { privateKey, publicKey } = await generateKeyPair('ES256', { extractable: true });
    const kid = `key-${++generation}`;
    key = { kid, privateKey, publicJwk: { ...(await exportJWK(publicKey)), kid, alg: 'ES256', use: 'sig' } };
  };
  await newKey();
  let fetches = 0;
  let issuer = '';
  const server: Server = createServer((req, res) => {
    if (req.url === '/openid/v1/jwks') {
      fetches += 1;
      res.setHeader('content-type', 'application/json');
      res.end(JSON.stringify({ keys: [key.publicJwk] }));
    } else if (req.url === '/.well-known/openid-configuration') {
      res.setHeader('content-type', 'application/json');
      res.end(JSON.stringify({ issuer, jwks_uri: `${issuer}/openid/v1/jwks`, id_token_signing_alg_values_supported: ['ES256'] }));
    } else {
      res.statusCode = 404;
      res.end();
    }
  });
  server.listen(0, '127.0.0.1');
  await once(server, 'listening');
  issuer = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
  return {
    issuer,
    jwksUrl: `${issuer}/openid/v1/jwks`,
    get jwksFetches() { return fetches; },
    async sign(claims, header = {}) {
      const now = Math.floor(Date.now() / 1000);
      const body: JWTPayload = { iss: issuer, iat: now, exp: now + 600, ...claims };
      if ('exp' in claims && claims.exp === undefined) delete body.exp;
      return new SignJWT(body).setProtectedHeader({ alg: 'ES256', kid: header.kid ?? key.kid }).sign(key.privateKey);
    },
    rotate: newKey,
    async stop() {
      server.closeAllConnections();
      await new Promise<void>((resolve) => server.close(() => resolve()));
    },
  };
}
