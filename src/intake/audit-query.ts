/**
 * Reading the audit log through the API: auditors and admins, within the teams the caller
 * reads (an admin of one team never sees another team's entries). The route parses and calls
 * this; the audit module does the reading.
 */
import { AuditReader, type AuditLog, type AuditPage } from '../audit';
import type { Principal } from '../lib/identity/types';
import { readableTeams, requireRole } from './access';

export class AuditQueryService {
  private readonly reader: AuditReader;

  constructor(log: Pick<AuditLog, 'list'>) {
    this.reader = new AuditReader(log);
  }

  list(p: Principal, after: number, limit: number): Promise<AuditPage> {
    requireRole(p, ['auditor', 'admin'], 'reading the audit log');
    return this.reader.list(readableTeams(p), after, limit);
  }
}

export type { AuditLog };
