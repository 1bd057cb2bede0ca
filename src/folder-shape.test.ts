// One shape per capability: every folder whose module.ts registers a stage or a port provider (src/<name>/ and
// src/ddos/<name>/) has index.ts as its door, schema.ts, a README, tests beside the code, and its metrics (if it
// counts anything) in metrics.ts and nowhere else in the folder.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { existsSync, readdirSync, readFileSync, statSync } from 'node:fs';

const src = new URL('../src/', import.meta.url);

function folders(under: URL): URL[] {
  return readdirSync(under)
    .filter((f) => statSync(new URL(f, under)).isDirectory())
    .map((f) => new URL(`${f}/`, under));
}

const capabilities = [...folders(src), ...folders(new URL('ddos/', src))].filter((u) =>
  existsSync(new URL('module.ts', u)),
);

test('capability folders have index.ts, schema.ts, module.ts, a README and tests; metrics only in metrics.ts', () => {
  const names = capabilities.map((u) => u.pathname.split('/src/')[1]);
  // The registry's stages and providers, as of this writing: a folder that loses its module.ts drops out of here.
  for (const expected of ['access/', 'cluster/', 'waf/', 'ddos/bans/', 'ddos/ratelimit/', 'ddos/shed/'])
    assert.ok(names.includes(expected), `${expected} has a module.ts`);
  const problems: string[] = [];
  for (const dir of capabilities) {
    const name = dir.pathname.split('/src/')[1];
    const files = readdirSync(dir);
    for (const required of ['index.ts', 'schema.ts', 'README.md'])
      if (!files.includes(required)) problems.push(`${name}${required} is missing`);
    if (!files.some((f) => f.endsWith('.test.ts'))) problems.push(`${name} has no test beside its code`);
    for (const f of files.filter((f) => f.endsWith('.ts') && !f.endsWith('.test.ts') && f !== 'metrics.ts')) {
      if (/new (client\.)?(Counter|Gauge|Histogram|Summary)\(/.test(readFileSync(new URL(f, dir), 'utf8')))
        problems.push(`${name}${f} declares a metric; metrics belong in ${name}metrics.ts`);
    }
  }
  assert.deepEqual(problems, []);
});
