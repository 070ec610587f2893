/**
 * Readiness comes from the clients themselves: anything with a `ping()` (the registry client,
 * which honours its `caFile` and `insecure`; Redis) is a check `/readyz` runs as it is.
 */

/** A dependency the service needs to do its work; `check` throws (or rejects) when it is down. */
export interface ReadinessCheck {
  name: string;
  check(): Promise<void>;
}

/** The check of a client that can `ping()`: ready when the ping resolves. */
export function readinessOf(name: string, client: { ping(): Promise<unknown> }): ReadinessCheck {
  return { name, check: async () => { await client.ping(); } };
}
