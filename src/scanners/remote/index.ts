/** What the remote scanner adapters (Clair, Harbor) share: JSON over the outbound HTTP client, polling time, registry credentials. */
export * from './http';
