/**
 * What the API tells about admission, within the caller's teams: the namespace → team map the
 * webhooks enforce (`GET /v1/namespaces`, for the dashboard) and where a digest was admitted
 * (`GET /v1/images/{digest}/workloads`, from the admission ledger).
 */
import { AppError } from '../lib/errors';
import type { Principal } from '../lib/identity/types';
import { canRead, readableTeams } from '../intake/access';
import { isValidDigest } from '../registry/reference';
import type { WorkloadReader, WorkloadSeen } from './ledger-store';
import type { NamespaceMap } from './namespaces';

export interface NamespacesView {
  /** Names and glob patterns, each with its team: only the caller's teams unless it reads every team. */
  namespaces: Array<{ namespace: string; team: string; pattern: boolean }>;
  /** Namespaces (or globs) never checked, only recorded: the same for everyone. */
  exempt: string[];
}

export class AdmissionDirectory {
  constructor(private readonly d: { namespaces: NamespaceMap; workloads: WorkloadReader }) {}

  namespaces(p: Principal): NamespacesView {
    const teams = readableTeams(p);
    const { namespaces, exempt } = this.d.namespaces.entries();
    return {
      namespaces: namespaces.filter((n) => teams === '*' || teams.includes(n.team)).map((n) => ({ ...n, pattern: /[*?]/.test(n.namespace) })),
      exempt,
    };
  }

  /** Workloads admitted with `digest` in the caller's teams (or `team`), most recent first. */
  async workloads(p: Principal, digest: string, opts: { team?: string; limit: number }): Promise<{ digest: string; workloads: WorkloadSeen[] }> {
    if (!isValidDigest(digest)) throw new AppError('INVALID_REQUEST', 'path.digest: not a sha256 or sha512 digest', { details: { field: 'digest' } });
    if (opts.team !== undefined && !canRead(p, opts.team)) throw new AppError('NOT_FOUND', `team ${opts.team} not found`);
    const teams = opts.team !== undefined ? [opts.team] : readableTeams(p);
    return { digest, workloads: await this.d.workloads.workloads(digest, teams, opts.limit) };
  }
}
