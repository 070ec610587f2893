/**
 * Images and helpers shared by the Clair and Harbor adapter tests: a small Debian-like image
 * whose dpkg status (two layers; the second adds bash) matches the fixture advisories, and a
 * clock whose sleeps only record and advance time, so polling is tested without waiting.
 */
import { buildImage, type BuiltImage } from '../../../harness/images';
import type { Clock } from '../../../../src/scanners/clair';

const stanza = (name: string, version: string) => `Package: ${name}\nStatus: install ok installed\nArchitecture: amd64\nVersion: ${version}\n`;

export const BASE_STATUS = [stanza('openssl', '3.0.11-1~deb12u1'), stanza('zlib1g', '1:1.2.13.dfsg-1'), stanza('libc6', '2.36-9')].join('\n');
export const FULL_STATUS = `${BASE_STATUS}\n${stanza('bash', '5.2.15-2+b2')}`;

/** Two layers: base system, then bash installed (its status file replaces the first). */
export function debianImage(architecture = 'amd64', extra: Record<string, string> = {}): Promise<BuiltImage> {
  return buildImage({
    architecture,
    layers: [
      { files: { 'etc/os-release': 'PRETTY_NAME="Debian GNU/Linux 12 (bookworm)"\nID=debian\nVERSION_ID="12"\n', 'var/lib/dpkg/status': BASE_STATUS } },
      { files: { 'var/lib/dpkg/status': FULL_STATUS, 'bin/bash': 'not really bash', ...extra } },
    ],
  });
}

export interface FakeClock extends Clock {
  sleeps: number[];
}

export function fakeClock(): FakeClock {
  let t = Date.now();
  const sleeps: number[] = [];
  return {
    sleeps,
    now: () => t,
    sleep: async (ms) => { sleeps.push(ms); t += ms; },
  };
}
