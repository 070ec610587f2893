/** Everything the console is given by main.ts: services, narrow store readers, monitoring sources. */
import type { Router } from 'express';
import type { AuditLog } from '../audit';
import type { ApprovedService, DecisionService, RequestService, RevocationService, WaiverService } from '../intake';
import type { IdentityProvider } from '../lib/identity/types';
import type { RateCounter } from '../lib/rate-counter';
import type { FindingIndex } from '../store';
import type { RequestStats } from '../store';
import type { ApprovalStore, RequestStore } from '../store/types';
import type { Monitoring } from './data/monitoring';
import type { SessionStore } from './sessions';

/** The console's own rate limits (./rate-limit.ts). */
export interface ConsoleLimits {
  /** Per principal: `ui.rateLimitPerMinute`, its counter keyed by principal name. */
  principal: { counter: RateCounter; perMinute: number };
  /** Per address: `ui.signInPerMinute`, its counter keyed by peer address. */
  signIn: { counter: RateCounter; perMinute: number };
}

/** The intake services and audit reader the console acts through (the same objects the API uses). */
export interface ConsoleServiceSet {
  requests: RequestService;
  decisions: DecisionService;
  waivers: WaiverService;
  approved: ApprovedService;
  revocations: RevocationService;
  audit: Pick<AuditLog, 'list' | 'verify'>;
}

export interface ConsoleDeps extends ConsoleServiceSet {
  sessions: SessionStore;
  identity: IdentityProvider;
  /** The API's shared failed-authentication counter (per client address) and its limit per minute. */
  failedAuth: { counter: RateCounter; perMinute: number };
  /** The console's own limits (per principal, sign-in attempts per address); absent: none. */
  limits?: ConsoleLimits;
  /** Mark cookies `Secure` (the API serves TLS itself); a request that arrived over TLS always does. */
  secureCookies: boolean;
  /** Read-only store access for what no service offers yet (counts, the queue's oldest, search). */
  store: {
    requests: Pick<RequestStore, 'list'>;
    approvals: Pick<ApprovalStore, 'list'>;
    stats: RequestStats;
    findings: FindingIndex;
  };
  monitoring: Monitoring;
  /**
   * Routes that need no session, mounted after the token sign-in and before the session check
   * (the OIDC sign-in: /ui/login/oidc, /ui/callback; they end in `startSession` from ./auth).
   */
  publicRoutes?: Router[];
  /** @defaultValue the system clock */
  now?: () => number;
}
