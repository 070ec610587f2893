/**
 * AdmissionReview v1 documents shaped as the Kubernetes API server (1.29) sends them to a
 * webhook: `kind`/`resource`/`requestKind`, `namespace`, `userInfo`, `object`, `oldObject`,
 * `dryRun` and `options` (CreateOptions/UpdateOptions) included.
 */
import { randomUUID } from 'node:crypto';

type Obj = Record<string, unknown>;

export function podReview(namespace: string, spec: Obj, opts: { operation?: 'CREATE' | 'UPDATE'; oldSpec?: Obj; subResource?: string; name?: string } = {}): Obj {
  const operation = opts.operation ?? 'CREATE';
  const pod = (s: Obj) => ({ apiVersion: 'v1', kind: 'Pod', metadata: { name: opts.name ?? 'web-0', namespace, labels: { app: 'web' } }, spec: s });
  return {
    apiVersion: 'admission.k8s.io/v1',
    kind: 'AdmissionReview',
    request: {
      uid: randomUUID(),
      kind: { group: '', version: 'v1', kind: 'Pod' },
      resource: { group: '', version: 'v1', resource: 'pods' },
      ...(opts.subResource ? { subResource: opts.subResource } : {}),
      requestKind: { group: '', version: 'v1', kind: 'Pod' },
      requestResource: { group: '', version: 'v1', resource: 'pods' },
      name: opts.name ?? 'web-0',
      namespace,
      operation,
      userInfo: { username: 'system:serviceaccount:kube-system:replicaset-controller', uid: randomUUID(), groups: ['system:serviceaccounts', 'system:authenticated'] },
      object: pod(spec),
      oldObject: operation === 'UPDATE' ? pod(opts.oldSpec ?? spec) : null,
      dryRun: false,
      options: { apiVersion: 'meta.k8s.io/v1', kind: operation === 'CREATE' ? 'CreateOptions' : 'UpdateOptions' },
    },
  };
}

export function deploymentReview(namespace: string, images: string[]): Obj {
  return {
    apiVersion: 'admission.k8s.io/v1',
    kind: 'AdmissionReview',
    request: {
      uid: randomUUID(),
      kind: { group: 'apps', version: 'v1', kind: 'Deployment' },
      resource: { group: 'apps', version: 'v1', resource: 'deployments' },
      requestKind: { group: 'apps', version: 'v1', kind: 'Deployment' },
      name: 'web', namespace, operation: 'CREATE',
      userInfo: { username: 'alice@bank.example', groups: ['payments-devs', 'system:authenticated'] },
      object: {
        apiVersion: 'apps/v1', kind: 'Deployment', metadata: { name: 'web', namespace },
        spec: { replicas: 3, selector: { matchLabels: { app: 'web' } }, template: { metadata: { labels: { app: 'web' } }, spec: { containers: images.map((image, i) => ({ name: `c${i}`, image })) } } },
      },
      oldObject: null, dryRun: false, options: { apiVersion: 'meta.k8s.io/v1', kind: 'CreateOptions', fieldManager: 'kubectl-client-side-apply' },
    },
  };
}

export const containers = (...images: string[]): Obj => ({ containers: images.map((image, i) => ({ name: `c${i}`, image, ports: [{ containerPort: 8080 }] })) });
