#!/usr/bin/env node
// The import-graph check of `npm test`: dependency-cruiser with .dependency-cruiser.cjs (layers point down; no
// runtime cycle anywhere; type-only cycles only where named). Prints one summary line, and each violation.
import { createRequire } from 'node:module';
import { cruise } from 'dependency-cruiser';
import extractTSConfig from 'dependency-cruiser/config-utl/extract-ts-config';

const require = createRequire(import.meta.url);
// `typeCycles` is ours (the named type-only cycles); dependency-cruiser refuses keys it does not know.
const { typeCycles, ...ruleSet } = require('../.dependency-cruiser.cjs');
const tsConfig = extractTSConfig('tsconfig.json');
const result = await cruise(['src'], { ...ruleSet.options, validate: true, ruleSet }, undefined, {
  tsConfig,
});
const output = result.output;
const violations = output.summary.violations;
const byRule = (name) => violations.filter((v) => v.rule.name === name).length;
const cycles = output.modules.filter((m) => m.dependencies.some((d) => d.circular)).length;
console.log(
  `imports: ${output.summary.totalCruised} modules, ${output.summary.totalDependenciesCruised} imports; ` +
    `runtime cycles: ${byRule('no-runtime-cycle')}; modules on a type-only cycle: ${cycles} ` +
    `(allowed: ${typeCycles.map((c) => c.files.length).reduce((a, b) => a + b, 0)} named); ` +
    `violations: ${violations.length}`,
);
for (const v of violations) {
  const path = v.cycle ? [v.from, ...v.cycle.map((c) => c.name ?? c)].join(' -> ') : `${v.from} -> ${v.to}`;
  console.log(`  ${v.rule.name}: ${path}`);
}
process.exit(violations.length === 0 ? 0 : 1);
