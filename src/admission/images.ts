/**
 * The container images of an admitted object, each with the JSON Pointer of its `image` field,
 * so that a mutation can replace exactly that field. Pods (also the `ephemeralcontainers`
 * subresource, whose object is the Pod) and the pod templates of workload controllers.
 */

export interface ContainerImage {
  /** RFC 6901 pointer of the `image` string, e.g. `/spec/containers/0/image`. */
  readonly path: string;
  /** `containers`, `initContainers` or `ephemeralContainers`. */
  readonly list: string;
  readonly name: string;
  readonly image: string;
}

/** Its pointer is built only when asked for (a patch): validation, on every Pod, never needs it. */
class Container implements ContainerImage {
  constructor(private readonly prefix: string, readonly list: string, private readonly index: number, readonly name: string, readonly image: string) {}

  get path(): string {
    return `${this.prefix}${this.index}/image`;
  }
}

/** Where the pod spec sits in each kind Portcullis looks at. */
const POD_SPEC_PATH: Record<string, string[]> = {
  Pod: ['spec'],
  Deployment: ['spec', 'template', 'spec'],
  ReplicaSet: ['spec', 'template', 'spec'],
  StatefulSet: ['spec', 'template', 'spec'],
  DaemonSet: ['spec', 'template', 'spec'],
  Job: ['spec', 'template', 'spec'],
  ReplicationController: ['spec', 'template', 'spec'],
  CronJob: ['spec', 'jobTemplate', 'spec', 'template', 'spec'],
};

export const WORKLOAD_KINDS = new Set(Object.keys(POD_SPEC_PATH).filter((k) => k !== 'Pod'));

/** Own keys only: a kind is the client's string (`constructor` is no kind of ours). */
const specPathOf = (kind: string): string[] | undefined => (Object.hasOwn(POD_SPEC_PATH, kind) ? POD_SPEC_PATH[kind] : undefined);

export function isKnownKind(kind: string): boolean {
  return specPathOf(kind) !== undefined;
}

const LISTS = ['initContainers', 'containers', 'ephemeralContainers'] as const;

/** Per kind and list, the pointer prefix of its containers (`/spec/containers/`): built once. */
const PREFIXES: Record<string, Record<string, string>> = Object.fromEntries(Object.entries(POD_SPEC_PATH).map(([kind, path]) => [
  kind, Object.fromEntries(LISTS.map((list) => [list, `/${[...path, list].join('/')}/`])),
]));

function isObject(v: unknown): v is Record<string, unknown> {
  return typeof v === 'object' && v !== null && !Array.isArray(v);
}

export class MalformedObject extends Error {}

/** The images of `object` of `kind`; throws MalformedObject for a shape Kubernetes would not accept. */
export function containerImages(kind: string, object: Record<string, unknown>): ContainerImage[] {
  const specPath = specPathOf(kind);
  if (!specPath) return [];
  let spec: unknown = object;
  for (const key of specPath) {
    if (!isObject(spec)) throw new MalformedObject(`${kind} has no ${specPath.join('.')}`);
    spec = spec[key];
  }
  if (!isObject(spec)) throw new MalformedObject(`${kind} has no ${specPath.join('.')}`);
  const out: ContainerImage[] = [];
  const prefixes = PREFIXES[kind];
  for (const list of LISTS) {
    const containers = spec[list];
    if (containers === undefined || containers === null) continue;
    if (!Array.isArray(containers)) throw new MalformedObject(`${specPath.join('.')}.${list} is not a list`);
    for (let i = 0; i < containers.length; i += 1) {
      const c: unknown = containers[i];
      if (!isObject(c)) throw new MalformedObject(`${specPath.join('.')}.${list}[${i}] is not an object`);
      // A container without an image is refused by the API server's own validation; here it
      // cannot be approved either, so it is reported as an image that is not one.
      const image = typeof c.image === 'string' ? c.image : '';
      out.push(new Container(prefixes[list], list, i, typeof c.name === 'string' ? c.name : `#${i}`, image));
    }
  }
  return out;
}
