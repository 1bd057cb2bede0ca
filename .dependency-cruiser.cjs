/* global module */
/**
 * The import graph's rules, checked by `npm test` (scripts/check-imports.mjs runs dependency-cruiser with this file).
 * Layers, lowest first: lib <- errors, config primitives, observability <- pipeline <- capabilities <- composition
 * (gateway, process, the stage registry src/stages.ts, src/bulwark-config.ts, main). Imports point down, never up.
 */
const CORE = '^src/(lib|config|observability|pipeline)/';
const CAPABILITIES = '^src/(access|admin|apikeys|cluster|console|ddos|demo|dns|waf|waf-middleware)/';
const COMPOSITION = '^src/(gateway|process)/|^src/(stages|bulwark-config|main|index)\\.ts$';

/** Type-only cycles allowed, at most 3 files each; their runtime edges point one way. */
const TYPE_CYCLES = [
  {
    files: ['^src/waf/engine/rule\\.ts$', '^src/waf/engine/prefilter\\.ts$'],
    reason:
      'the prefilter is built from Rule targets (runtime import), and a compiled Rule carries its prefilter (type)',
  },
  {
    files: ['^src/waf/engine/collections\\.ts$', '^src/waf/engine/variables\\.ts$'],
    reason: 'a collection entry caches the VarValue that variables.ts makes of it (type); variables reads entries',
  },
];

module.exports = {
  typeCycles: TYPE_CYCLES,
  forbidden: [
    {
      name: 'no-runtime-cycle',
      comment: 'A cycle of runtime imports makes load order matter and hides which module needs which.',
      severity: 'error',
      from: {},
      to: { circular: true, viaOnly: { dependencyTypesNot: ['type-only'] } },
    },
    {
      name: 'no-type-cycle',
      comment:
        'Type-only cycles cost nothing at run time but still tangle modules. The few allowed are named in ' +
        'TYPE_CYCLES with their reason; any other is an error.',
      severity: 'error',
      from: { pathNot: TYPE_CYCLES.map((c) => c.files.join('|')).join('|') },
      to: { circular: true },
    },
    {
      name: 'core-knows-no-capability',
      comment: 'lib, config, observability and pipeline sit below every capability and must not import one.',
      severity: 'error',
      from: { path: CORE },
      to: { path: `${CAPABILITIES}|${COMPOSITION}` },
    },
    {
      name: 'lib-imports-nothing-of-ours',
      comment: 'lib is the floor: small helpers that import no other folder.',
      severity: 'error',
      from: { path: '^src/lib/' },
      to: { path: '^src/', pathNot: '^src/lib/' },
    },
    {
      name: 'config-below-observability-and-pipeline',
      comment: 'Config primitives (yaml, validation, loader) need neither logging nor the pipeline.',
      severity: 'error',
      from: { path: '^src/(config/|errors\\.ts$)' },
      to: { path: '^src/(observability|pipeline)/' },
    },
    {
      name: 'pipeline-above-observability-only',
      comment: 'Observability is used by the pipeline and below; it never imports the pipeline.',
      severity: 'error',
      from: { path: '^src/observability/' },
      to: { path: '^src/pipeline/' },
    },
    {
      name: 'capabilities-below-composition',
      comment: 'A capability never imports the gateway, the processes or the registry that composes it.',
      severity: 'error',
      from: { path: CAPABILITIES },
      to: { path: COMPOSITION },
    },
  ],
  options: {
    doNotFollow: { path: 'node_modules' },
    exclude: { path: '\\.test\\.ts$|^src/testing/' },
    tsPreCompilationDeps: true,
    tsConfig: { fileName: 'tsconfig.json' },
  },
};
