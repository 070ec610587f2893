/**
 * Identity: who is asking. Builds the one IdentityProvider the API uses from `auth`: JWTs of
 * people (OIDC) and of CI workloads, robot accounts, the tokens file (reloaded on change).
 */
import type { Config } from '../lib/config';
import type { IdentityProvider } from '../lib/identity/types';
import type { Logger } from '../lib/logger';
import { IdentityChain } from './chain';
import { systemClock, type Clock } from './jwt';
import { OidcIdentityProvider, type JwtIssuerProvider } from './oidc';
import { TokensFileIdentityProvider, watchTokensFile } from './tokens-file';
import { workloadIssuers } from './workload';

export { IdentityChain } from './chain';
export { systemClock, type Clock } from './jwt';
export { TokensFileIdentityProvider, watchTokensFile } from './tokens-file';

export interface IdentityOptions {
  /** @defaultValue the system clock */
  clock?: Clock;
  /** Least time between JWKS fetches for unknown kids (tests of key rotation use 0). @defaultValue 30000 */
  jwksCooldownMs?: number;
  /** Reload the tokens file when it changes. @defaultValue true */
  watch?: boolean;
}

export interface Identity {
  provider: IdentityProvider;
  /** The tokens file's provider, when `auth.tokensFile` is set. */
  tokensFile?: TokensFileIdentityProvider;
  stop(): void;
}

export function createIdentity(config: Config, logger: Logger, options: IdentityOptions = {}): Identity {
  const log = logger.child({ module: 'identity' });
  const clock = options.clock ?? systemClock;
  const settings = { jwksCacheSeconds: config.auth.jwksCacheSeconds, clockSkewSeconds: config.auth.clockSkewSeconds, clock, jwksCooldownMs: options.jwksCooldownMs };
  const issuers: JwtIssuerProvider[] = [];
  if (config.auth.oidc) issuers.push(new OidcIdentityProvider(config.auth.oidc, settings));
  issuers.push(...workloadIssuers(config.auth.workloads, settings));
  const stops: Array<() => void> = [];
  let tokensFile: TokensFileIdentityProvider | undefined;
  if (config.auth.tokensFile) {
    tokensFile = TokensFileIdentityProvider.fromFile(config.auth.tokensFile);
    if (options.watch !== false) stops.push(watchTokensFile(config.auth.tokensFile, tokensFile, log).stop);
  }
  if (!tokensFile && issuers.length === 0) log.warn('no auth.tokensFile, auth.oidc or auth.workloads: every /v1 call will be refused with 401');
  const provider = new IdentityChain(issuers, tokensFile ? [tokensFile] : []);
  return { provider, tokensFile, stop: () => stops.forEach((s) => s()) };
}
