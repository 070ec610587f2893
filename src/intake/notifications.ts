/**
 * Reading webhook deliveries and re-enabling an endpoint, with the same access rules as the rest
 * of the API: admins and auditors read the deliveries of the teams they can read (system events,
 * which belong to no team, only with every team); re-enabling an endpoint, which serves every
 * team, needs an admin of every team.
 */
import { AppError } from '../lib/errors';
import type { Principal } from '../lib/identity/types';
import type { DeliveryQuery, DeliveryRecord } from '../events';
import { isMember, readableTeams, requireRole } from './access';
import type { EventBus } from './events';

export interface DeliveryLogPort {
  list(q: DeliveryQuery): Promise<{ items: DeliveryRecord[]; next: string | null }>;
  enable(endpoint: string): Promise<boolean>;
}

export class NotificationService {
  constructor(private readonly log: DeliveryLogPort, private readonly endpoints: readonly string[], private readonly events: EventBus) {}

  async deliveries(p: Principal, q: { endpoint?: string; limit: number; cursor?: string }): Promise<{ items: DeliveryRecord[]; next: string | null }> {
    requireRole(p, ['admin', 'auditor'], 'reading webhook deliveries');
    return this.log.list({ teams: readableTeams(p), limit: q.limit, ...(q.endpoint ? { endpoint: q.endpoint } : {}), ...(q.cursor ? { before: q.cursor } : {}) });
  }

  /** Lets deliveries go to an endpoint disabled by a 410 again; true when it was disabled. */
  async enable(p: Principal, endpoint: string): Promise<boolean> {
    requireRole(p, ['admin'], 'enabling a webhook endpoint');
    if (!isMember(p, '*')) throw new AppError('FORBIDDEN', 'webhook endpoints serve every team: enabling one needs an admin of every team');
    if (!this.endpoints.includes(endpoint)) throw new AppError('NOT_FOUND', `no webhook endpoint named ${endpoint}`);
    const was = await this.log.enable(endpoint);
    await this.events.publish({ type: 'notifications.endpoint_enabled', actor: p.name, target: `webhook/${endpoint}`, details: { endpoint, wasDisabled: was } }, { required: true });
    return was;
  }
}
