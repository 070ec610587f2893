/**
 * The registry-native Mover: the copy engine between two registries, clients from a
 * ClientProvider (the UpstreamResolver in the service, direct clients in the CLI). Digests
 * are preserved, so the result's digest is the source's (or the new index's, see mapping).
 */
import type { Logger } from '../lib/logger';
import { copyImage } from './copy';
import type { CopyOptions, CopyResult, Mover } from './mover';
import { apiReference, type ImageRef } from './reference';
import type { ClientProvider } from './resolver';

export interface RegistryMoverDefaults {
  /** @defaultValue 4 (config `copy.jobs`) */
  jobs?: number;
  /** @defaultValue 5 (config `copy.retries`) */
  retries?: number;
  /** How index children are judged when staging; see CopyOptions. @defaultValue unset (copied as they are) */
  unscannableChildren?: 'fail' | 'drop';
}

export class RegistryMover implements Mover {
  readonly name = 'registry';
  readonly preservesDigest = true;

  constructor(private readonly clients: ClientProvider, private readonly defaults: RegistryMoverDefaults = {}, private readonly logger?: Logger) {}

  async copy(src: ImageRef, dst: ImageRef, opts: CopyOptions = {}): Promise<CopyResult> {
    return copyImage(
      { client: this.clients.clientFor(src), repository: src.repository, reference: apiReference(src) },
      { client: this.clients.clientFor(dst), repository: dst.repository, tag: dst.digest ? undefined : dst.tag },
      { jobs: this.defaults.jobs, retries: this.defaults.retries, unscannableChildren: this.defaults.unscannableChildren, ...opts },
      this.logger,
    );
  }
}
