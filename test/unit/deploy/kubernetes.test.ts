/**
 * The Kubernetes manifests (deploy/kubernetes): both kustomizations build with `kubectl kustomize`,
 * every core object validates against the Kubernetes schemas offline (kubernetes-models, run by
 * test/harness/validate-k8s.mjs), the workloads meet the restricted Pod Security profile, the
 * webhook configurations fail closed, and the site config in each ConfigMap is one Portcullis
 * accepts.
 */
import { execFileSync, spawnSync } from 'node:child_process';
import path from 'node:path';
import YAML from 'yaml';
import { parseConfig } from '../../../src/lib/config';

const ROOT = path.resolve(__dirname, '../../..');
type Obj = Record<string, any>;

function build(dir: string): Obj[] {
  const out = execFileSync('kubectl', ['kustomize', path.join(ROOT, 'deploy/kubernetes', dir)], { stdio: ['ignore', 'pipe', 'ignore'] }).toString();
  return YAML.parseAllDocuments(out).map((d) => d.toJSON() as Obj);
}

function validate(objects: Obj[]): Array<{ object: string; problem: string }> {
  const r = spawnSync(process.execPath, [path.join(ROOT, 'test/harness/validate-k8s.mjs')], { input: JSON.stringify(objects), cwd: ROOT });
  if (r.status !== 0) throw new Error(r.stderr.toString());
  return JSON.parse(r.stdout.toString()) as Array<{ object: string; problem: string }>;
}

const CRDS = new Set(['cert-manager.io/v1', 'monitoring.coreos.com/v1']);

describe.each(['base', 'overlays/production'])('deploy/kubernetes/%s', (dir) => {
  const objects = build(dir);
  const of = (kind: string) => objects.filter((o) => o.kind === kind);

  it('validates against the Kubernetes schemas (and the validator does refuse a broken object)', () => {
    const core = objects.filter((o) => !CRDS.has(o.apiVersion));
    expect(validate(core)).toEqual([]);
    const broken = structuredClone(of('Deployment')[0]);
    broken.spec.replicas = 'three';
    expect(validate([broken])).toEqual([expect.objectContaining({ object: `Deployment/${broken.metadata.name}` })]);
    // The custom resources (cert-manager, Prometheus Operator) at least name what they must.
    expect(objects.filter((o) => CRDS.has(o.apiVersion)).map((o) => o.kind).sort()).toEqual(['Certificate', 'Issuer', 'ServiceMonitor']);
  });

  it('runs api, worker and webhook with 3+ replicas and a PodDisruptionBudget each, in the restricted profile', () => {
    const deployments = of('Deployment');
    expect(deployments.map((d) => d.metadata.name).sort()).toEqual(['portcullis-api', 'portcullis-webhook', 'portcullis-worker']);
    for (const d of deployments) {
      expect(d.spec.replicas).toBeGreaterThanOrEqual(3);
      expect(of('PodDisruptionBudget').some((p) => p.metadata.name === d.metadata.name && p.spec.maxUnavailable === 1)).toBe(true);
      const pod = d.spec.template.spec;
      expect(pod.securityContext).toMatchObject({ runAsNonRoot: true, seccompProfile: { type: 'RuntimeDefault' } });
      expect(pod.automountServiceAccountToken).toBe(false);
      for (const c of pod.containers) {
        expect(c.securityContext).toEqual({ allowPrivilegeEscalation: false, readOnlyRootFilesystem: true, runAsNonRoot: true, capabilities: { drop: ['ALL'] }, seccompProfile: { type: 'RuntimeDefault' } });
        expect(c.resources.requests).toBeDefined();
        expect(c.resources.limits).toBeDefined();
        expect(c.livenessProbe).toBeDefined();
        expect(c.readinessProbe).toBeDefined();
        expect(c.args).toEqual(['--role', d.metadata.name.replace('portcullis-', '')]);
      }
    }
    expect(of('Namespace')[0].metadata.labels['pod-security.kubernetes.io/enforce']).toBe('restricted');
  });

  it('registers webhooks that fail closed, pin by reinvocation and skip only the exempt namespaces', () => {
    const [mutating] = of('MutatingWebhookConfiguration');
    const [validating] = of('ValidatingWebhookConfiguration');
    for (const cfg of [mutating, validating]) {
      expect(cfg.metadata.annotations['cert-manager.io/inject-ca-from']).toBe('portcullis/portcullis-webhook');
      for (const w of cfg.webhooks) {
        expect(w).toMatchObject({ failurePolicy: 'Fail', sideEffects: 'None', timeoutSeconds: 5, admissionReviewVersions: ['v1'] });
        expect(w.namespaceSelector.matchExpressions).toEqual([{ key: 'kubernetes.io/metadata.name', operator: 'NotIn', values: ['kube-system', 'portcullis'] }]);
      }
    }
    expect(mutating.webhooks[0]).toMatchObject({ reinvocationPolicy: 'IfNeeded', clientConfig: { service: { path: '/admission/mutate' } } });
    expect(mutating.webhooks[0].rules[0].resources).toEqual(['pods', 'pods/ephemeralcontainers']);
    expect(validating.webhooks[0].clientConfig.service.path).toBe('/admission/validate');
  });

  it('denies all traffic by default and lets workers reach only Redis, the proxy, the registry and the scanners', () => {
    const policies = of('NetworkPolicy');
    expect(policies.find((p) => p.metadata.name === 'default-deny')?.spec).toEqual({ podSelector: {}, policyTypes: ['Ingress', 'Egress'] });
    const worker = policies.find((p) => p.metadata.name === 'worker-egress');
    expect(worker?.spec.egress[0].to[0].namespaceSelector.matchExpressions[0].values).toEqual(['redis', 'proxy', 'registry', 'scanner']);
  });

  it('carries a site config that Portcullis accepts', () => {
    const raw = YAML.parse(of('ConfigMap').find((c) => c.metadata.name === 'portcullis-config')!.data['config.yaml']) as Obj;
    const config = parseConfig(raw);
    expect(config.webhook.tlsCertFile).toBe('/etc/portcullis/tls/tls.crt');
    expect(config.server.host).toBe('0.0.0.0');
  });
});
