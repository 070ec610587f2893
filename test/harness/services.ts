/**
 * The services that jest's global setup started, as the tests see them. Global setup writes
 * their addresses into PORTCULLIS_TEST_SERVICES; tests never use fixed ports.
 */
export interface TestServices {
  redis: { url: string };
  /** The internal registry (quarantine and approved images). */
  internal: { url: string; host: string };
  /** The demo "outside" registry; reach it only through `proxy`. */
  upstream: { url: string; host: string };
  /** nginx reverse proxy in front of `upstream`. */
  proxy: { url: string; host: string; accessLog: string };
  /** A temp folder for this run. */
  tmp: string;
}

export function services(): TestServices {
  const raw = process.env.PORTCULLIS_TEST_SERVICES;
  if (!raw) throw new Error('PORTCULLIS_TEST_SERVICES is not set: run the tests with `npm test` (jest global setup starts the services)');
  return JSON.parse(raw) as TestServices;
}

/** A name unique to this test, for repositories and Redis prefixes (tests share the services). */
export function uniqueName(prefix = 't'): string {
  return `${prefix}-${process.pid}-${Date.now().toString(36)}-${Math.random().toString(36).slice(2, 8)}`;
}
