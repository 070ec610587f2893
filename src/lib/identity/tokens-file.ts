/** The hash under which a static token is stored (tokens file, robot accounts): SHA-256 hex. */
import { createHash } from 'node:crypto';

export function sha256Hex(token: string): string {
  return createHash('sha256').update(token, 'utf8').digest('hex');
}
