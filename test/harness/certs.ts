/**
 * Self-signed certificates for tests, made with the openssl CLI (Debian's openssl package):
 * a TLS certificate for 127.0.0.1 and an EC P-256 signing key for the token server.
 */
import { execFileSync } from 'node:child_process';
import { writeFileSync } from 'node:fs';
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

export interface CaSignedFiles extends CertFiles {
  /** The CA's certificate: what a client must trust. */
  caFile: string;
}

/** A CA made here, and a certificate for `127.0.0.1`/`localhost` signed by it (not self-signed: a private CA as banks run). */
export function makeCaSignedCert(name: string): CaSignedFiles {
  const dir = tempDir(`ca-${name}`);
  const f = (n: string) => path.join(dir, n);
  const run = (args: string[]) => execFileSync('openssl', args, { stdio: 'ignore' });
  run(['req', '-x509', '-newkey', 'ec', '-pkeyopt', 'ec_paramgen_curve:prime256v1', '-nodes', '-keyout', f('ca-key.pem'), '-out', f('ca.pem'),
    '-days', '2', '-subj', `/CN=${name} test CA`, '-addext', 'basicConstraints=critical,CA:TRUE', '-addext', 'keyUsage=critical,keyCertSign,cRLSign']);
  run(['req', '-newkey', 'ec', '-pkeyopt', 'ec_paramgen_curve:prime256v1', '-nodes', '-keyout', f('key.pem'), '-out', f('req.csr'), '-subj', `/CN=${name}`]);
  writeFileSync(f('ext.cnf'), 'subjectAltName=IP:127.0.0.1,DNS:localhost\nbasicConstraints=CA:FALSE\nextendedKeyUsage=serverAuth\n');
  run(['x509', '-req', '-in', f('req.csr'), '-CA', f('ca.pem'), '-CAkey', f('ca-key.pem'), '-CAcreateserial', '-out', f('cert.pem'), '-days', '2', '-extfile', f('ext.cnf')]);
  return { dir, certFile: f('cert.pem'), keyFile: f('key.pem'), caFile: f('ca.pem') };
}
