/**
 * Reads a configured PEM key pair for a server we run (the API, the admission webhook). A file
 * that cannot be read stops the process with one line naming the key.
 */
import { readFileSync } from 'node:fs';
import { ConfigError } from './config';

/** `section` names the keys in errors: `server` → `config: server.tlsCertFile: cannot read …`. */
export function readKeyPair(section: string, files: { tlsCertFile: string; tlsKeyFile: string }): { cert: Buffer; key: Buffer } {
  const read = (key: 'tlsCertFile' | 'tlsKeyFile'): Buffer => {
    try {
      return readFileSync(files[key]);
    } catch (err) {
      throw new ConfigError(`config: ${section}.${key}: cannot read ${files[key]}: ${(err as NodeJS.ErrnoException).code ?? String(err)}`);
    }
  };
  return { cert: read('tlsCertFile'), key: read('tlsKeyFile') };
}
