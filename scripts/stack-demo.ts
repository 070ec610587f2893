/**
 * Demo data for the console of the local stack: an approved image (a clean `library/tools:1.0`
 * requested, scanned, approved), a flagged request awaiting approval (`library/hello:1.0`,
 * whose zlib the sample OSV database marks critical), and the approved image put at risk: its
 * npm `minimist` 1.2.5 has no finding in the sample database, then a real advisory
 * (GHSA-xvch-5gv4-984h, config/osv-demo-update/) is published to the scanner's sync feed; the
 * next scheduled sync re-matches the approved digest and the approval turns `at_risk`, as it
 * would in production when new vulnerability data arrives. Done once per state folder: a stack
 * that already has requests is left as it is. Runs through the public API with the demo tokens.
 */
import { buildImage, pushImage } from '../test/harness/images';
import { DEMO_REPOSITORY, DEMO_TAG } from './demo-image';

export const CLEAN_REPOSITORY = 'library/tools';

const OS_RELEASE = 'PRETTY_NAME="Debian GNU/Linux 12 (bookworm)"\nNAME="Debian GNU/Linux"\nVERSION_ID="12"\nVERSION_CODENAME=bookworm\nID=debian\n';
const DPKG_STATUS = 'Package: base-files\nStatus: install ok installed\nArchitecture: amd64\nVersion: 12.4+deb12u5\nDescription: Debian base system miscellaneous files\n';
/** An installed npm package the sample database knows nothing against; config/osv-demo-update/ does. */
const MINIMIST = JSON.stringify({ name: 'minimist', version: '1.2.5', description: 'parse argument options', license: 'MIT' });
/** The advisory that puts the approved demo image at risk (config/osv-demo-update/npm/). */
export const AT_RISK_ADVISORY = 'GHSA-xvch-5gv4-984h';

export async function seedCleanImage(upstreamUrl: string): Promise<void> {
  const res = await fetch(`${upstreamUrl}/v2/${CLEAN_REPOSITORY}/manifests/1.0`, { method: 'HEAD' });
  if (res.ok) return;
  await pushImage(upstreamUrl, CLEAN_REPOSITORY, '1.0', await buildImage({
    layers: [
      { files: { 'etc/os-release': OS_RELEASE, 'var/lib/dpkg/status': DPKG_STATUS } },
      { files: { 'usr/share/tools/README': 'tools\n', 'usr/lib/node_modules/minimist/package.json': MINIMIST } },
    ],
    config: { User: '1000:1000' },
  }));
}

type Call = (token: string, method: string, path: string, body?: unknown) => Promise<{ status: number; body: Record<string, unknown> }>;

function caller(api: string): Call {
  return async (token, method, path, body) => {
    const res = await fetch(`${api}${path}`, {
      method, headers: { authorization: `Bearer ${token}`, ...(body ? { 'content-type': 'application/json' } : {}) },
      body: body ? JSON.stringify(body) : undefined,
    });
    return { status: res.status, body: (await res.json()) as Record<string, unknown> };
  };
}

async function until(call: Call, token: string, id: string, statuses: string[], stopped: () => boolean): Promise<string> {
  for (let i = 0; i < 600 && !stopped(); i++) {
    const r = await call(token, 'GET', `/v1/requests/${id}`);
    if (statuses.includes(String(r.body.status))) return String(r.body.status);
    await new Promise((res) => setTimeout(res, 500));
  }
  throw new Error(`request ${id} never reached ${statuses.join(' or ')}`);
}

/** Waits until the team's approval of `repository` is at risk; false when it never was. */
async function untilAtRisk(call: Call, token: string, repository: string, stopped: () => boolean): Promise<boolean> {
  for (let i = 0; i < 480 && !stopped(); i++) {
    const r = await call(token, 'GET', '/v1/approved?team=payments&health=at_risk');
    const items = Array.isArray(r.body.items) ? (r.body.items as Array<{ image?: string }>) : [];
    if (items.some((a) => a.image?.endsWith(`/${repository}`))) return true;
    await new Promise((res) => setTimeout(res, 500));
  }
  return false;
}

/**
 * Returns what it did, in words, or null when the stack already had requests. `publishAdvisory`
 * adds config/osv-demo-update/ to the builtin scanner's sync feed.
 */
export async function seedConsoleDemo(api: string, tokens: Record<string, string>, stopped: () => boolean, publishAdvisory: () => void): Promise<string | null> {
  const call = caller(api);
  const existing = await call(tokens.AUDITOR_TOKEN, 'GET', '/v1/requests?limit=1');
  if (Array.isArray(existing.body.items) && existing.body.items.length > 0) return null;
  const clean = await call(tokens.DEV_TOKEN, 'POST', '/v1/requests', { image: `demo.local/${CLEAN_REPOSITORY}:1.0`, team: 'payments', justification: 'demo: build tools' });
  const cleanId = String(clean.body.id);
  if (await until(call, tokens.AUDITOR_TOKEN, cleanId, ['awaiting_approval', 'failed'], stopped) === 'awaiting_approval') {
    await call(tokens.APPROVER_TOKEN, 'POST', `/v1/requests/${cleanId}/approve`, { comment: 'demo: no findings' });
    await until(call, tokens.AUDITOR_TOKEN, cleanId, ['approved', 'failed'], stopped);
  }
  const approved = (await call(tokens.AUDITOR_TOKEN, 'GET', `/v1/requests/${cleanId}`)).body.status === 'approved';
  // New vulnerability data after the approval: the next scheduled sync (every minute) re-matches it.
  if (approved) publishAdvisory();
  const flagged = await call(tokens.DEV_TOKEN, 'POST', '/v1/requests', { image: `demo.local/${DEMO_REPOSITORY}:${DEMO_TAG}`, team: 'payments', justification: 'demo: web front end' });
  await until(call, tokens.AUDITOR_TOKEN, String(flagged.body.id), ['awaiting_approval', 'failed'], stopped);
  const done = `approved demo.local/${CLEAN_REPOSITORY}:1.0; flagged demo.local/${DEMO_REPOSITORY}:${DEMO_TAG} awaits approval (${api}/ui/requests/${String(flagged.body.id)})`;
  if (!approved) return `${done}; demo.local/${CLEAN_REPOSITORY}:1.0 was not approved, so nothing is at risk`;
  const atRisk = await untilAtRisk(call, tokens.AUDITOR_TOKEN, CLEAN_REPOSITORY, stopped);
  return atRisk
    ? `${done}; approved demo.local/${CLEAN_REPOSITORY}:1.0 is now at risk (${AT_RISK_ADVISORY}, critical, in minimist 1.2.5, published after its approval; ${api}/ui/alerts)`
    : `${done}; demo.local/${CLEAN_REPOSITORY}:1.0 did not turn at risk after ${AT_RISK_ADVISORY} was published (see the service log)`;
}
