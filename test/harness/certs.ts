/**
 * Self-signed certificates for tests, made with the openssl CLI (Debian's openssl package):
 * a TLS certificate for 127.0.0.1 and an EC P-256 signing key for the token server.
 */
import { execFileSync } from 'node:child_process';
import path from 'node:path';
import { tempDir } from './proc';

export interface CertFiles {
  dir: string;
  certFile: string;
  keyFile: string;
}

/** An EC P-256 key and a self-signed certificate, valid for `127.0.0.1` and `localhost`. */
export function makeCert(name: string): CertFiles {
  const dir = tempDir(`cert-${name}`);
  const certFile = path.join(dir, 'cert.pem');
  const keyFile = path.join(dir, 'key.pem');
  execFileSync('openssl', [
    'req', '-x509', '-newkey', 'ec', '-pkeyopt', 'ec_paramgen_curve:prime256v1', '-nodes',
    '-keyout', keyFile, '-out', certFile, '-days', '2', '-subj', `/CN=${name}`,
    '-addext', 'subjectAltName=IP:127.0.0.1,DNS:localhost',
  ], { stdio: 'ignore' });
  return { dir, certFile, keyFile };
}
