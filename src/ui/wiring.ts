/**
 * Builds the console's collaborators from what main.ts already has: the services, the store
 * connection, the identity provider and the API's failed-authentication counter. Monitoring
 * sources (health, snapshots, freshness, drift, SBOM) default to "not configured"; main.ts
 * passes the real ones as the workstreams that build them land.
 */
import type Redis from 'ioredis';
import type { Config } from '../lib/config';
import type { IdentityProvider } from '../lib/identity/types';
import { RedisRateCounter, type RateCounter } from '../lib/rate-counter';
import { RedisFindingIndex } from '../store';
import { RedisRequestStats } from '../store';
import { RedisRequestStore } from '../store';
import type { ApprovalStore } from '../store/types';
import { monitoringNotConfigured, type Monitoring } from './data/monitoring';
import type { ConsoleDeps, ConsoleServiceSet } from './deps';
import { RedisSessionStore, type SessionStore } from './sessions';

export interface ConsoleServices extends ConsoleServiceSet {
  approvals: ApprovalStore;
}

export function consoleDeps(config: Config, redis: Redis, services: ConsoleServices, identity: IdentityProvider, failedAuth: RateCounter,
  monitoring: Monitoring = monitoringNotConfigured(config.scanners.map((s) => s.name)),
  sessions: SessionStore = new RedisSessionStore(redis, config.redis.prefix, { idleMs: config.ui.idleMinutes * 60_000, lifetimeMs: config.ui.lifetimeHours * 3_600_000 })): ConsoleDeps {
  const prefix = config.redis.prefix;
  return {
    sessions,
    identity,
    failedAuth: { counter: failedAuth, perMinute: config.server.rateLimitPerMinute },
    limits: {
      principal: { counter: new RedisRateCounter(redis, `${prefix}:ratelimit:console`), perMinute: config.ui.rateLimitPerMinute },
      signIn: { counter: new RedisRateCounter(redis, `${prefix}:ratelimit:console-signin`), perMinute: config.ui.signInPerMinute },
    },
    secureCookies: Boolean(config.server.tlsCertFile),
    requests: services.requests, decisions: services.decisions, waivers: services.waivers, approved: services.approved,
    revocations: services.revocations, audit: services.audit,
    store: {
      requests: new RedisRequestStore(redis, prefix), approvals: services.approvals,
      stats: new RedisRequestStats(redis, prefix), findings: new RedisFindingIndex(redis, prefix),
    },
    monitoring,
  };
}
