/**
 * A small Docker token server (distribution docs/spec/auth/token.md) issuing ES256 JWTs that
 * docker-registry's `token` auth really verifies: the registry trusts the certificate in
 * `rootcertbundle`, and finds the signing key by the JWT header's `kid`, which is the libtrust
 * key ID of that certificate's public key (SHA-256 of the DER SubjectPublicKeyInfo, first
 * 240 bits, base32, in 12 groups of 4 joined by ':').
 *
 * JWTs are signed with node:crypto (ES256 = ECDSA P-256 SHA-256, signature as raw R||S per
 * RFC 7518 §3.4): jose v6 is ESM-only and cannot be loaded by jest's CommonJS runtime.
 */
import { createHash, createPrivateKey, createPublicKey, randomUUID, sign, type KeyObject } from 'node:crypto';
import { readFileSync } from 'node:fs';
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import { makeCert } from './certs';

export interface TokenRequestRecord {
  scopes: string[];
  service?: string;
  user?: string;
  /** Host header, to see whether the request came through a proxy. */
  host?: string;
}

export interface TokenServer {
  url: string;
  realm: string;
  service: string;
  issuer: string;
  certFile: string;
  requests: TokenRequestRecord[];
  /** The registry `auth:` config block that trusts this server. */
  registryAuth(): Record<string, unknown>;
  close(): Promise<void>;
}

export interface TokenServerOptions {
  /** When set, requests must carry these Basic credentials to get push rights; anonymous gets pull only. */
  users?: Record<string, string>;
  /** Answer with `access_token` (OAuth2 style) instead of `token`. @defaultValue 'token' */
  field?: 'token' | 'access_token';
  /** @defaultValue 300 */
  expiresIn?: number;
  /** Refuse anonymous requests with 401. @defaultValue false */
  requireAuth?: boolean;
}

const BASE32 = 'ABCDEFGHIJKLMNOPQRSTUVWXYZ234567';

function base32(data: Buffer): string {
  let bits = 0;
  let value = 0;
  let out = '';
  for (const byte of data) {
    value = (value << 8) | byte;
    bits += 8;
    while (bits >= 5) {
      out += BASE32[(value >>> (bits - 5)) & 31];
      bits -= 5;
    }
  }
  if (bits > 0) out += BASE32[(value << (5 - bits)) & 31];
  return out;
}

/** libtrust's KeyID of a public key (what docker-registry matches the JWT `kid` against). */
export function libtrustKeyId(spkiDer: Buffer): string {
  const b32 = base32(createHash('sha256').update(spkiDer).digest().subarray(0, 30));
  return b32.match(/.{4}/g)!.join(':');
}

function b64url(data: Buffer | string): string {
  return Buffer.from(data).toString('base64url');
}

/** A compact JWS (RFC 7515) signed ES256. */
export function signJwt(header: Record<string, unknown>, claims: Record<string, unknown>, key: KeyObject): string {
  const input = `${b64url(JSON.stringify(header))}.${b64url(JSON.stringify(claims))}`;
  const signature = sign('sha256', Buffer.from(input), { key, dsaEncoding: 'ieee-p1363' });
  return `${input}.${b64url(signature)}`;
}

export async function startTokenServer(opts: TokenServerOptions = {}): Promise<TokenServer> {
  const cert = makeCert('portcullis-test-token');
  const privateKey = createPrivateKey(readFileSync(cert.keyFile));
  const kid = libtrustKeyId(createPublicKey(privateKey).export({ type: 'spki', format: 'der' }));
  const service = 'portcullis-test-registry';
  const issuer = 'portcullis-test-issuer';
  const requests: TokenRequestRecord[] = [];

  const server = http.createServer((req, res) => {
    void (async () => {
      const url = new URL(req.url ?? '/', 'http://x');
      const scopes = url.searchParams.getAll('scope');
      let user: string | undefined;
      const auth = req.headers.authorization;
      if (auth?.startsWith('Basic ')) {
        const [u, p] = Buffer.from(auth.slice(6), 'base64').toString().split(':');
        if (opts.users?.[u] !== p) {
          res.writeHead(401, { 'content-type': 'application/json' }).end('{"details":"bad credentials"}');
          return;
        }
        user = u;
      } else if (opts.requireAuth) {
        res.writeHead(401, { 'content-type': 'application/json' }).end('{"details":"credentials required"}');
        return;
      }
      requests.push({ scopes, service: url.searchParams.get('service') ?? undefined, user, host: req.headers.host });
      const access = scopes.map((s) => {
        const [type, name, actions] = s.split(':');
        const granted = (actions ?? '').split(',').filter((a) => a === 'pull' || (user !== undefined && (a === 'push' || a === 'delete')));
        return { type, name, actions: granted };
      });
      const now = Math.floor(Date.now() / 1000);
      const expiresIn = opts.expiresIn ?? 300;
      const token = signJwt({ alg: 'ES256', typ: 'JWT', kid }, {
        iss: issuer, aud: service, sub: user ?? '', iat: now, nbf: now - 5, exp: now + expiresIn, jti: randomUUID(), access,
      }, privateKey);
      res.writeHead(200, { 'content-type': 'application/json' })
        .end(JSON.stringify({ [opts.field ?? 'token']: token, expires_in: expiresIn, issued_at: new Date(now * 1000).toISOString() }));
    })().catch((err: unknown) => { res.writeHead(500).end(String(err)); });
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as AddressInfo;
  const url = `http://127.0.0.1:${port}`;
  return {
    url,
    realm: `${url}/token`,
    service,
    issuer,
    certFile: cert.certFile,
    requests,
    registryAuth: () => ({ token: { realm: `${url}/token`, service, issuer, rootcertbundle: cert.certFile } }),
    close: () => new Promise<void>((resolve) => { server.closeAllConnections(); server.close(() => resolve()); }),
  };
}
