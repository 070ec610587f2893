/**
 * The layering of ARCHITECTURE.md, kept by `npm test` (test/unit/architecture/layers.test.ts
 * runs `depcruise` and fails with its output):
 *   entry points (main.ts, cli, queue/)  →  edges (api, admission)  →  services (intake, identity)
 *   →  outside systems (registry, scanners, policy, store, audit, events)  →  lib (imports none of them).
 * Type-only imports count too. An exception is written on its rule, with its reason.
 */
const MODULES = '(registry|scanners|policy|store|audit|events|identity|intake|admission)';
/** A module's public surface: its index, its interfaces (types.ts) and its config section (config.ts). */
const SURFACE = `^src/${MODULES}/(index|types|config)\\.ts$`;
/** The config sections of modules (their config.ts, in the module or one folder down). */
const CONFIG_SECTION = ['^src/[a-z]+/config\\.ts$', '^src/[a-z]+/[a-z]+/config\\.ts$'];
const BELOW_INTAKE = '^src/(registry|scanners|policy|store|audit)/';

module.exports = {
  forbidden: [
    { name: 'no-circular', severity: 'error', comment: 'No import cycles between files (and so none between folders through them).', from: {}, to: { circular: true } },
    {
      name: 'lib-imports-no-module', severity: 'error',
      comment: 'src/lib is imported by everyone and imports none of the modules (STYLE 11). '
        + 'Exception: lib/config-schema.ts composes the config sections each module declares in its config.ts '
        + '(zod schemas only; rule config-sections-are-leaves keeps them so), so that a module owns its keys.',
      from: { path: '^src/lib/', pathNot: '^src/lib/config-schema\\.ts$' },
      to: { path: ['^src/(?!lib/)', '^queue/'] },
    },
    {
      name: 'config-schema-takes-only-config-sections', severity: 'error',
      comment: 'lib/config-schema.ts may import a module\'s config.ts files and nothing else of it.',
      from: { path: '^src/lib/config-schema\\.ts$' },
      to: { path: '^src/(?!lib/)', pathNot: CONFIG_SECTION },
    },
    {
      name: 'config-sections-are-leaves', severity: 'error',
      comment: 'A module\'s config section imports zod, lib and its own module\'s constants (limits, severities), never a service or I/O.',
      from: { path: CONFIG_SECTION },
      to: { path: ['^src/(api|intake|admission|events|identity/(?!config))', '^queue/', '^src/(registry|store|audit)/'] },
    },
    {
      name: 'modules-through-index', severity: 'error',
      comment: 'From another folder, use a module through its public surface (index.ts, types.ts, config.ts).',
      from: { path: '^src/([^/]+)/', pathNot: '^src/lib/config-schema\\.ts$' },
      to: { path: `^src/${MODULES}/.+`, pathNot: [SURFACE, '^src/$1/'] },
    },
    {
      name: 'entry-points-through-index', severity: 'error',
      comment: 'main.ts, cli.ts, the jobs in queue/, benches and scripts use a module through its public surface.',
      from: { path: '^(queue|bench|scripts)/|^src/[^/]+\\.ts$' },
      to: { path: `^src/${MODULES}/.+`, pathNot: SURFACE },
    },
    {
      name: 'api-calls-services', severity: 'error',
      comment: 'Routes (and console pages) parse, check and call a service (intake; identity for robots and principals), never a store, registry or scanner. '
        + 'Exception: admission/index.ts, whose services (break-glass exceptions, namespaces, workloads of a digest) the /v1 routes serve.',
      from: { path: '^src/api/' },
      to: { path: ['^src/(registry|scanners|policy|store|audit|events|admission)/', '^queue/'], pathNot: '^src/admission/index\\.ts$' },
    },
    {
      name: 'console-calls-services', severity: 'error',
      comment: 'The console (src/ui) is an edge like api. Exception, to be moved behind an intake query service: its read models '
        + '(the finding index and request counts in store/index.ts, the audit list) and the finding/request types it renders '
        + '(store/types.ts, scanners/types.ts). Never a registry, policy, events or queue import.',
      from: { path: '^src/ui/' },
      to: { path: ['^src/(registry|scanners|policy|store|audit|events|admission)/', '^queue/'],
        pathNot: ['^src/admission/index\\.ts$', '^src/(store|audit)/index\\.ts$', '^src/(store|scanners)/types\\.ts$'] },
    },
    {
      name: 'queue-calls-intake', severity: 'error',
      comment: 'A job calls intake. Exception: queue/webhook.ts is the delivery job of the events module (deliveries are not an intake step).',
      from: { path: '^queue/', pathNot: '^queue/webhook\\.ts$' },
      to: { path: [BELOW_INTAKE, '^src/(events|admission|api)/'] },
    },
    {
      name: 'services-do-not-call-edges', severity: 'error',
      comment: 'intake and identity never import the edges (api, admission) or the jobs.',
      from: { path: '^src/(intake|identity)/' },
      to: { path: ['^src/(api|ui|admission)/', '^queue/'] },
    },
    {
      name: 'outside-systems-do-not-call-up', severity: 'error',
      comment: 'registry, scanners, policy, store and audit know nothing of the services, edges or jobs above them.',
      from: { path: BELOW_INTAKE },
      to: { path: ['^src/(intake|identity|api|admission|events)/', '^queue/'] },
    },
  ],
  options: {
    doNotFollow: { path: 'node_modules' },
    tsPreCompilationDeps: true,
    tsConfig: { fileName: 'tsconfig.json' },
    includeOnly: '^(src|queue|bench|scripts)/',
  },
};
