/**
 * CI workload identity: Kubernetes-style ServiceAccount JWTs from a workload issuer (a key pair
 * made here, its JWKS served on loopback) map by claims to a team and role; a token that
 * matches no entry is refused with 403 IDENTITY_UNMAPPED, a bad one with a 401 code.
 */
import { createIdentity, type Identity } from '../../../src/identity';
import { parseConfig } from '../../../src/lib/config';
import { createLogger } from '../../../src/lib/logger';
import { startTestApp, type TestApp } from '../../harness/app';
import { startTestIssuer, type TestIssuer } from '../../harness/jwt-issuer';

const AUD = 'portcullis';
let cluster: TestIssuer;
let gitlab: TestIssuer;
let app: TestApp;

function saClaims(namespace: string, name = 'builder'): Record<string, unknown> {
  return {
    sub: `system:serviceaccount:${namespace}:${name}`,
    aud: [AUD],
    nbf: Math.floor(Date.now() / 1000) - 5,
    'kubernetes.io': { namespace, serviceaccount: { name, uid: '0d5c3b9e-8f9a-4c4e-9a43-2c1f1f1e1a01' }, pod: { name: `${name}-7d9f`, uid: 'b1a2' } },
  };
}

function workloads(): unknown[] {
  return [
    { issuer: cluster.issuer, audience: AUD, jwksUrl: cluster.jwksUrl, claims: { 'kubernetes.io.namespace': 'payments-ci' }, team: 'payments', role: 'ci' },
    { issuer: cluster.issuer, audience: AUD, jwksUrl: cluster.jwksUrl, claims: { 'kubernetes.io.namespace': 'logistics-ci', 'kubernetes.io.serviceaccount.name': 'release' }, team: 'logistics', role: 'ci' },
    // No jwksUrl: found through the issuer's discovery document, as for GitLab.
    { issuer: gitlab.issuer, audience: AUD, claims: { project_path: 'bank/payments-api', ref_protected: 'true' }, team: 'payments', role: 'ci' },
  ];
}

function identity(): Identity {
  const config = parseConfig({ internalRegistry: { url: 'http://127.0.0.1:5000' }, auth: { workloads: workloads() } });
  return createIdentity(config, createLogger({ level: 'silent' }), { jwksCooldownMs: 0 });
}

/** CI's own call: the approved digest of an image for its team (none approved here: 404 NOT_APPROVED once authenticated). */
async function get(token: string): Promise<{ status: number; code?: string }> {
  const res = await fetch(`${app.url}/v1/approved?image=docker.io/library/nginx:1.27&team=payments`, { headers: { authorization: `Bearer ${token}` } });
  const body = (await res.json()) as { error?: { code: string } };
  return { status: res.status, code: body.error?.code };
}

beforeAll(async () => {
  [cluster, gitlab] = await Promise.all([startTestIssuer(), startTestIssuer()]);
  app = await startTestApp({ worker: false, config: { auth: { workloads: workloads() } } });
});

afterAll(async () => {
  await app?.stop();
  await cluster?.stop();
  await gitlab?.stop();
});

describe('CI workload identity', () => {
  it('maps a ServiceAccount token of the payments-ci namespace to team payments, role ci', async () => {
    const p = await identity().provider.authenticate(await cluster.sign(saClaims('payments-ci')));
    expect(p).toEqual({
      name: 'system:serviceaccount:payments-ci:builder', roles: ['ci'], teams: ['payments'],
      subject: `workload:${cluster.issuer}#system:serviceaccount:payments-ci:builder`, source: 'workload',
    });
    const logistics = await identity().provider.authenticate(await cluster.sign(saClaims('logistics-ci', 'release')));
    expect(logistics).toMatchObject({ roles: ['ci'], teams: ['logistics'] });
    const gl = await identity().provider.authenticate(await gitlab.sign({ sub: 'project_path:bank/payments-api:ref_type:branch:ref:main', aud: AUD, project_path: 'bank/payments-api', ref_protected: 'true' }));
    expect(gl).toMatchObject({ roles: ['ci'], teams: ['payments'], source: 'workload' });
  });

  it('accepts the token at the API and refuses a workload no entry matches with 403 IDENTITY_UNMAPPED', async () => {
    expect(await get(await cluster.sign(saClaims('payments-ci')))).toEqual({ status: 404, code: 'NOT_APPROVED' });
    expect(await get(await cluster.sign(saClaims('marketing-ci')))).toEqual({ status: 403, code: 'IDENTITY_UNMAPPED' });
    // Every claim of the entry must match: the right namespace but another service account.
    expect(await get(await cluster.sign(saClaims('logistics-ci', 'builder')))).toEqual({ status: 403, code: 'IDENTITY_UNMAPPED' });
    // An unprotected branch of the right project.
    expect(await get(await gitlab.sign({ sub: 'x', aud: AUD, project_path: 'bank/payments-api', ref_protected: 'false' }))).toEqual({ status: 403, code: 'IDENTITY_UNMAPPED' });
  });

  it('refuses a wrong audience, a token not yet valid, one without exp, and an expired one with 401 codes', async () => {
    expect(await get(await cluster.sign({ ...saClaims('payments-ci'), aud: ['https://kubernetes.default.svc'] }))).toEqual({ status: 401, code: 'TOKEN_AUDIENCE_MISMATCH' });
    expect(await get(await cluster.sign({ ...saClaims('payments-ci'), nbf: Math.floor(Date.now() / 1000) + 3600 }))).toEqual({ status: 401, code: 'TOKEN_NOT_YET_VALID' });
    expect(await get(await cluster.sign({ ...saClaims('payments-ci'), exp: undefined }))).toEqual({ status: 401, code: 'TOKEN_INVALID' });
    expect(await get(await cluster.sign({ ...saClaims('payments-ci'), exp: Math.floor(Date.now() / 1000) - 3600 }))).toEqual({ status: 401, code: 'TOKEN_EXPIRED' });
  });

  it('caches the JWKS and fetches it again when a token names a new kid (key rotation)', async () => {
    const idp = identity().provider;
    const before = cluster.jwksFetches;
    for (let i = 0; i < 5; i++) expect(await idp.authenticate(await cluster.sign(saClaims('payments-ci')))).not.toBeNull();
    expect(cluster.jwksFetches).toBe(before + 1);
    await cluster.rotate();
    expect(await idp.authenticate(await cluster.sign(saClaims('payments-ci')))).toMatchObject({ teams: ['payments'] });
    expect(cluster.jwksFetches).toBe(before + 2);
    // A kid the issuer does not publish even after a refetch.
    await expect(idp.authenticate(await cluster.sign(saClaims('payments-ci'), { kid: 'key-0' }))).rejects.toMatchObject({ code: 'TOKEN_KEY_UNKNOWN' });
  });

  it('refuses an entry without claims in the configuration', () => {
    expect(() => parseConfig({ internalRegistry: { url: 'http://127.0.0.1:5000' }, auth: { workloads: [{ issuer: cluster.issuer, audience: AUD, claims: {}, team: 'payments', role: 'ci' }] } }))
      .toThrow(/auth\.workloads\[0\]\.claims: must name at least one claim/);
    expect(() => parseConfig({ internalRegistry: { url: 'http://127.0.0.1:5000' }, auth: { workloads: [{ issuer: 'http://ci.example.com', audience: AUD, claims: { a: 'b' }, team: 'payments', role: 'ci' }] } }))
      .toThrow(/auth\.workloads\[0\]\.issuer: must be an https:\/\/ URL/);
  });
});
