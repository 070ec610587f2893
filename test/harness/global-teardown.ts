/** Jest global teardown: stops every service global setup started. */
export default async function globalTeardown(): Promise<void> {
  const started = globalThis.__portcullisServices ?? [];
  await Promise.all(started.map((s) => s.stop().catch(() => undefined)));
  globalThis.__portcullisServices = [];
}
