/**
 * `GET /v1/images/{digest}/sbom`: the kept CycloneDX SBOM of a digest, to a reader of a team
 * that has a request or an approval for it. Any other caller gets NOT_FOUND, as for a digest
 * never scanned: whether a digest is known must not leak across teams.
 */
import { canRead, readableTeams } from '../intake';
import { AppError } from '../lib/errors';
import type { Principal } from '../lib/identity/types';
import type { ApprovalStore, RequestStore } from '../store/types';
import type { RedisInventoryStore } from './inventory-store';
import { sbomBytes } from './inventory-sink';

export interface SbomServiceDeps {
  store: Pick<RedisInventoryStore, 'get'>;
  requests: Pick<RequestStore, 'idsByDigest'>;
  approvals: Pick<ApprovalStore, 'ofDigest'>;
  /** Builtin scanner names, in configuration order. */
  scanners: readonly string[];
}

export class SbomService {
  constructor(private readonly d: SbomServiceDeps) {}

  private async teamHas(team: string | '*', digest: string): Promise<boolean> {
    if ((await this.d.requests.idsByDigest(team, digest)).length > 0) return true;
    return team !== '*' && (await this.d.approvals.ofDigest(team, digest)).length > 0;
  }

  private async allowed(p: Principal, digest: string): Promise<boolean> {
    const teams = readableTeams(p);
    if (teams === '*') return this.teamHas('*', digest);
    for (const team of teams) if (canRead(p, team) && (await this.teamHas(team, digest))) return true;
    return false;
  }

  /** The SBOM's JSON bytes. @throws AppError NOT_FOUND for a digest without an SBOM or of no team of the caller. */
  async get(p: Principal, digest: string): Promise<Buffer> {
    const notFound = new AppError('NOT_FOUND', `no SBOM for ${digest}`);
    if (!(await this.allowed(p, digest))) throw notFound;
    for (const name of this.d.scanners) {
      const stored = await this.d.store.get(name, digest);
      if (stored) return sbomBytes(stored);
    }
    throw notFound;
  }
}
