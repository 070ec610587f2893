/**
 * Identity: who is asking. Builds the one IdentityProvider the API uses from `auth`: JWTs of
 * people (OIDC) and of CI workloads, robot accounts, the tokens file (reloaded on change); with
 * Redis, robots and role hygiene (disabled principals refused, uses recorded).
 */
import type Redis from 'ioredis';
import type { Config } from '../lib/config';
import type { IdentityProvider } from '../lib/identity/types';
import type { Logger } from '../lib/logger';
import { admitPrincipal, RedisPrincipalActivity, TrackedIdentity } from './activity';
import { IdentityChain } from './chain';
import type { IdentityEvents } from './events';
import { PrincipalService } from './hygiene';
import { systemClock, type Clock } from './jwt';
import { ConfigError } from '../lib/config';
import { OidcIdentityProvider, type JwtIssuerProvider } from './oidc';
import { OidcLogin } from './oidc-login';
import { OidcSessions, type WebSessionStore } from './oidc-sessions';
import { RedisRobotStore } from './robot-store';
import { RobotService } from './robots';
import { ReauthorisingIdentity } from './session-check';
import { VerifiedTokenCache } from './token-cache';
import { TokensFileIdentityProvider, watchTokensFile } from './tokens-file';
import { workloadIssuers } from './workload';

export { IdentityChain } from './chain';
export type { IdentityEvent, IdentityEvents } from './events';
export { PrincipalService, type PrincipalView } from './hygiene';
export { approverGroupsOf } from './oidc';
export { OidcLogin, type OidcLoginClient } from './oidc-login';
export { OidcSessions, refreshingSessions, type WebSession, type WebSessionStore } from './oidc-sessions';
export { systemClock, type Clock } from './jwt';
export { RobotService, ROBOT_ROLES, type RobotView } from './robots';
export { ReauthorisingIdentity, sessionCheckOf, sessionCredentialSchema, type SessionCredential } from './session-check';
export { TokensFileIdentityProvider, watchTokensFile } from './tokens-file';

export interface IdentityOptions {
  /** @defaultValue the system clock */
  clock?: Clock;
  /** Least time between JWKS fetches for unknown kids (tests of key rotation use 0). @defaultValue 30000 */
  jwksCooldownMs?: number;
  /** Read (and watch) `auth.tokensFile`; worker processes need not. @defaultValue true */
  tokensFile?: boolean;
  /** How often the tokens file is checked for changes. @defaultValue 1000 */
  tokensFilePollMs?: number;
}

/** Redis and the event bus: robots and role hygiene need them. */
export interface IdentityDeps {
  redis: Redis;
  prefix: string;
  events: IdentityEvents;
}

export interface Identity {
  /** Also re-checks console sessions made from a token (session-check.ts). */
  provider: ReauthorisingIdentity;
  /** The tokens file's provider, when `auth.tokensFile` is set and read. */
  tokensFile?: TokensFileIdentityProvider;
  robots?: RobotService;
  principals?: PrincipalService;
  stop(): void;
}

export function createIdentity(config: Config, logger: Logger, options: IdentityOptions = {}, deps?: IdentityDeps): Identity {
  const log = logger.child({ module: 'identity' });
  const clock = options.clock ?? systemClock;
  const settings = { jwksCacheSeconds: config.auth.jwksCacheSeconds, clockSkewSeconds: config.auth.clockSkewSeconds, clock, jwksCooldownMs: options.jwksCooldownMs };
  const issuers: JwtIssuerProvider[] = [];
  if (config.auth.oidc) issuers.push(new OidcIdentityProvider(config.auth.oidc, settings));
  issuers.push(...workloadIssuers(config.auth.workloads, settings));
  const stops: Array<() => void> = [];
  const file = options.tokensFile !== false ? config.auth.tokensFile : undefined;
  const tokensFile = file ? TokensFileIdentityProvider.fromFile(file) : undefined;

  const statics: IdentityProvider[] = [];
  let robots: RobotService | undefined;
  let principals: PrincipalService | undefined;
  let activity: RedisPrincipalActivity | undefined;
  if (deps) {
    robots = new RobotService(new RedisRobotStore(deps.redis, deps.prefix), deps.events, config.auth.robots, clock);
    activity = new RedisPrincipalActivity(deps.redis, deps.prefix);
    principals = new PrincipalService(activity, robots, deps.events, config.auth.inactiveDays, clock);
    statics.push(robots);
  }
  if (tokensFile) statics.push(tokensFile);
  if (!tokensFile && !robots && issuers.length === 0) log.warn('no auth.tokensFile, auth.oidc or auth.workloads: every /v1 call will be refused with 401');
  const cache = issuers.length ? new VerifiedTokenCache(clock, 60_000, 10_000, config.auth.clockSkewSeconds) : undefined;
  const chain = new IdentityChain(issuers, statics, cache);

  if (tokensFile && file) {
    // Tokens-file entries start their inactivity clock when first listed, used or not.
    const list = (): void => {
      if (!activity) return;
      const at = clock().toISOString();
      Promise.all(tokensFile.principals().map((p) => activity.listed(p, p.subject!, at)))
        .catch((err: unknown) => log.warn({ error: err }, 'could not record the tokens-file principals for role hygiene'));
    };
    list();
    stops.push(watchTokensFile(file, tokensFile, log, options.tokensFilePollMs, list).stop);
  }
  return {
    provider: new ReauthorisingIdentity(activity ? new TrackedIdentity(chain, activity, clock) : chain, { tokensFile, robots, activity, clock }),
    tokensFile, robots, principals,
    stop: () => stops.forEach((s) => s()),
  };
}

/**
 * The console's OIDC sign-in on `sessions` (the console's web session store, unwrapped), when
 * `auth.oidc.redirectUri` is set; the client secret is read from `auth.oidc.clientSecretEnv`.
 */
export function createOidcSignIn(config: Config, logger: Logger, redis: Redis, sessions: WebSessionStore, env: NodeJS.ProcessEnv = process.env): OidcSessions | undefined {
  const oidc = config.auth.oidc;
  if (!oidc?.redirectUri) return undefined;
  const clientSecret = oidc.clientSecretEnv ? env[oidc.clientSecretEnv] : undefined;
  if (oidc.clientSecretEnv && !clientSecret) throw new ConfigError(`config: auth.oidc.clientSecretEnv: environment variable ${oidc.clientSecretEnv} is not set`);
  const login = new OidcLogin({ ...oidc, redirectUri: oidc.redirectUri }, { clientSecret });
  const activity = new RedisPrincipalActivity(redis, config.redis.prefix);
  return new OidcSessions({
    login, sessions, redis, prefix: config.redis.prefix, logger: logger.child({ module: 'oidc-signin' }),
    // Role hygiene applies to console sign-ins as to bearer tokens: disabled subjects are refused, uses recorded.
    admit: (p) => admitPrincipal(activity, p, systemClock),
  });
}
