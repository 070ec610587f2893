/**
 * The v1 API as one router: everything under /v1 is rate-limited per client address for
 * failed authentications, then authenticated, rate-limited per principal and takes JSON
 * bodies only; then one router per resource.
 */
import { Router } from 'express';
import type { ApprovedService, AuditLog, CodeScanService, DecisionService, RequestService, RevocationService, WaiverService } from '../intake';
import type { NotificationService } from '../intake';
import type { IdentityProvider } from '../lib/identity/types';
import type { RateCounter } from '../lib/rate-counter';
import { authenticate } from './middleware/auth';
import { jsonBodies } from './middleware/body';
import { rateLimit, unauthenticatedRateLimit } from './middleware/rate-limit';
import { admissionRouter, type AdmissionApi } from './routes/admission';
import { approvedRouter } from './routes/approved';
import { auditRouter } from './routes/audit';
import { codeScansRouter } from './routes/code-scans';
import { driftRouter, type DriftReader } from './routes/drift';
import { hooksRouter, type ClairHookApi } from './routes/hooks';
import { monitorRouter, type MonitorApi } from './routes/monitor';
import { notificationsRouter } from './routes/notifications';
import { queueRouter } from './routes/queue';
import { requestsRouter } from './routes/requests';
import { robotsRouter, type RobotsDeps } from './routes/robots';
import { snapshotsRouter, type SnapshotReader } from './routes/snapshots';
import { reviewsRouter, type ReviewDecider } from './routes/reviews';
import type { ReviewQueue } from './routes/queue';
import { waiversRouter } from './routes/waivers';
import { whoamiRouter } from './routes/whoami';

export interface V1Deps extends RobotsDeps {
  identity: IdentityProvider;
  requests: RequestService;
  decisions: DecisionService;
  approved: ApprovedService;
  revocations: RevocationService;
  waivers: WaiverService;
  audit: Pick<AuditLog, 'list'>;
  /** SARIF evidence uploads; until main.ts wires it, the route answers 503 DEPENDENCY_UNAVAILABLE. */
  codeScans?: CodeScanService;
  /** Webhook deliveries; without it the routes answer 503 DEPENDENCY_UNAVAILABLE. */
  notifications?: NotificationService;
  limits: { bodyLimit: string; codeScanBodyLimit: string; rateLimitPerMinute: number };
  /** Shared (Redis) counters of the rate limits: per principal, and failed authentications per address. */
  rateCounters: { principals: RateCounter; addresses: RateCounter };
  /** Namespaces, break-glass exceptions, workloads of a digest (issue 16); without it those routes answer 503. */
  admission?: AdmissionApi;
  /** What `GET /v1/whoami` reports as the source of a principal that carries none of its own (each principal says where it came from: tokens file, robot, OIDC session). @defaultValue 'tokens-file' */
  identitySource?: string;
  /** Re-reviews of at-risk approvals in `GET /v1/queue` (src/monitor); absent: no `reviews`. */
  reviews?: ReviewQueue;
  /** Re-review decisions (`POST /v1/approvals/keep`); absent: 503. */
  reviewDecisions?: ReviewDecider;
  /** Daily snapshots (`GET /v1/snapshots`); absent: 503. */
  snapshots?: SnapshotReader;
  /** Drift history (`GET /v1/drift`); absent: 503. */
  drift?: DriftReader;
  /** SBOMs and scanner status (src/monitor); without it those routes answer 503. */
  inventory?: MonitorApi;
  /** Clair's notifier webhook (`POST /hooks/clair`, outside /v1); absent: it answers 404. */
  clairHook?: ClairHookApi;
  /** Extra v1 routers (e.g. code-scan uploads), mounted after the built-in ones. */
  extra?: Router[];
}

export function v1Router(deps: V1Deps): Router {
  const router = Router();
  const addressLimit = unauthenticatedRateLimit(deps.limits.rateLimitPerMinute, deps.rateCounters.addresses);
  // Outside /v1: Clair authenticates with its own credential; failed attempts count per address as on /v1.
  router.use('/hooks', addressLimit);
  router.use(hooksRouter(deps));
  router.use('/hooks', addressLimit.refuse);
  router.use('/v1',
    addressLimit, authenticate(deps.identity), addressLimit.refuse, rateLimit(deps.limits.rateLimitPerMinute, deps.rateCounters.principals), jsonBodies(deps.limits));
  // CI's lookups first: the hottest route, so a lookup is not matched against every other route before it.
  router.use(approvedRouter(deps));
  router.use(requestsRouter(deps));
  router.use(waiversRouter(deps));
  router.use(queueRouter(deps));
  router.use(auditRouter(deps));
  router.use(codeScansRouter(deps));
  router.use(notificationsRouter(deps));
  router.use(whoamiRouter({ identitySource: deps.identitySource ?? 'tokens-file' }));
  router.use(robotsRouter(deps));
  router.use(snapshotsRouter(deps));
  router.use(driftRouter(deps));
  router.use(reviewsRouter(deps));
  router.use(monitorRouter(deps));
  router.use(admissionRouter(deps));
  for (const extra of deps.extra ?? []) router.use(extra);
  return router;
}
