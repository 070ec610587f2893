/**
 * Which team a namespace belongs to: `webhook.namespaces` maps names or glob patterns (`*` any run
 * of characters, `?` one) to teams, like RoleBindings per namespace. Exact names win over
 * patterns, then the longest pattern (the most specific). A namespace that maps to no team is
 * denied (fail closed) unless it is exempt.
 */

export type NamespaceMatch = { kind: 'team'; team: string } | { kind: 'exempt' } | { kind: 'unmapped' };

function globToRegExp(glob: string): RegExp {
  const body = glob.split('').map((c) => (c === '*' ? '.*' : c === '?' ? '.' : c.replace(/[.+^${}()|[\]\\]/g, '\\$&'))).join('');
  return new RegExp(`^${body}$`);
}

export class NamespaceMap {
  private readonly exact = new Map<string, string>();
  private readonly patterns: Array<{ glob: string; re: RegExp; team: string }> = [];
  private readonly exempt: Array<RegExp>;
  /** Answers per namespace: the map never changes, and a cluster has few namespaces (bounded all the same). */
  private cache = new Map<string, NamespaceMatch>();

  constructor(mapping: Record<string, string>, private readonly exemptGlobs: readonly string[]) {
    for (const [ns, team] of Object.entries(mapping)) {
      if (/[*?]/.test(ns)) this.patterns.push({ glob: ns, re: globToRegExp(ns), team });
      else this.exact.set(ns, team);
    }
    this.patterns.sort((a, b) => b.glob.length - a.glob.length);
    this.exempt = exemptGlobs.map(globToRegExp);
  }

  resolve(namespace: string): NamespaceMatch {
    const hit = this.cache.get(namespace);
    if (hit) return hit;
    const match = this.match(namespace);
    if (this.cache.size >= 10_000) this.cache = new Map();
    this.cache.set(namespace, match);
    return match;
  }

  private match(namespace: string): NamespaceMatch {
    if (this.exempt.some((re) => re.test(namespace))) return { kind: 'exempt' };
    const team = this.exact.get(namespace) ?? this.patterns.find((p) => p.re.test(namespace))?.team;
    return team ? { kind: 'team', team } : { kind: 'unmapped' };
  }

  /** The mapping as configured, for `GET /v1/namespaces`. */
  entries(): { namespaces: Array<{ namespace: string; team: string }>; exempt: string[] } {
    return {
      namespaces: [...[...this.exact].map(([namespace, team]) => ({ namespace, team })), ...this.patterns.map((p) => ({ namespace: p.glob, team: p.team }))],
      exempt: [...this.exemptGlobs],
    };
  }
}
