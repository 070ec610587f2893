/** Outbound HTTP: one client (client.ts) on one set of connection pools, TLS settings and proxies. */
export { AgentPool, type TlsSettings } from './agents';
export { noProxyMatches, proxyFor } from './proxy';
export { basicAuth } from './basic';
export { defaultHttpClient, HttpClient, HttpError, isHttpError, redactUrl, type HttpCall, type HttpClientOptions, type HttpFailure, type HttpReply } from './client';
export { BodyTooLarge, readBody, type Overflow } from './body';
