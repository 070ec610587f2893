/**
 * A docker-registry requiring htpasswd Basic auth, with one user: a client that does not
 * send the credentials it was given (or sends wrong ones) gets 401 from it. docker-registry only takes bcrypt hashes; apache2-utils' htpasswd is not
 * installed, so the hash below was made once with libxcrypt
 * (`perl -e 'print crypt("s3cret-pull", "$2b$05$…")'`) and checked with Python's crypt.
 */
import { writeFileSync } from 'node:fs';
import path from 'node:path';
import { tempDir } from './proc';
import { startRegistry, type RegistryService } from './registry';

export const PULL_USER = { username: 'scanner', password: 's3cret-pull' };
const BCRYPT_HASH = '$2b$05$portcullistestsaltsaleCrwDZYczYZe4sxbKzIgU3bnXc0YYiZy';

export function basic(user: { username: string; password: string }): string {
  return `Basic ${Buffer.from(`${user.username}:${user.password}`).toString('base64')}`;
}

export async function startAuthRegistry(name: string): Promise<RegistryService> {
  const dir = tempDir(name);
  const file = path.join(dir, 'htpasswd');
  writeFileSync(file, `${PULL_USER.username}:${BCRYPT_HASH}\n`);
  return startRegistry({ name, dir, config: { auth: { htpasswd: { realm: 'portcullis-test', path: file } } } });
}
