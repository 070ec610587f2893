/**
 * Every route's contract, in the order the document lists them. A new route adds its table
 * (`routes/<name>.contract.ts`) here; a test fails while express serves a route that is not
 * listed, or a listed route answers a status or code its contract does not name.
 */
import type { RouteContract } from './contract';
import { adminContracts } from './routes/admin.contract';
import { admissionContracts } from './routes/admission.contract';
import { approvedContracts } from './routes/approved.contract';
import { codeScansContracts } from './routes/code-scans.contract';
import { healthContracts } from './routes/health.contract';
import { hooksContracts } from './routes/hooks.contract';
import { monitorContracts } from './routes/monitor.contract';
import { requestsContracts } from './routes/requests.contract';
import { robotsContracts } from './routes/robots.contract';
import { snapshotsContracts } from './routes/snapshots.contract';
import { driftContracts } from './routes/drift.contract';

export const API_CONTRACTS: readonly RouteContract[] = [
  ...healthContracts,
  ...requestsContracts,
  ...codeScansContracts,
  ...approvedContracts,
  ...adminContracts,
  ...robotsContracts,
  ...snapshotsContracts,
  ...driftContracts,
  ...monitorContracts,
  ...admissionContracts,
  ...hooksContracts,
];
