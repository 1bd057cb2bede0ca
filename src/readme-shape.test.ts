// Every capability's README has the same shape, and docs/architecture.md maps every folder under src/. Both are read
// from the source tree (relative to this file, as src/errors.test.ts does), so a new folder fails here until its
// README and its map line exist.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { existsSync, readdirSync, readFileSync, statSync } from 'node:fs';

const SRC = new URL('../src/', import.meta.url);
const REQUIRED = ['What it does', 'Config', 'Order', 'Metrics', 'Errors'];
/** Folders with a module.ts that are not capabilities (none today; the contract is pipeline/stage-module.ts). */
const NOT_CAPABILITIES = new Set<string>();
/** Capabilities that are not stages: cluster's module.ts is a port provider, waf-middleware has none. */
const WITHOUT_MODULE = ['cluster', 'waf-middleware'];

const isDir = (rel: string): boolean => statSync(new URL(rel, SRC)).isDirectory();
const has = (rel: string): boolean => existsSync(new URL(rel, SRC));
const subfolders = (rel: string): string[] =>
  readdirSync(new URL(rel || '.', SRC))
    .map((name) => (rel ? `${rel}/${name}` : name))
    .filter(isDir)
    .sort();

/** Folders under src/ or src/ddos/ with a module.ts, src/ddos itself (their overview), cluster and waf-middleware. */
function capabilityFolders(): string[] {
  const found = new Set<string>(WITHOUT_MODULE);
  for (const parent of ['', 'ddos'])
    for (const dir of subfolders(parent)) if (has(`${dir}/module.ts`) && !NOT_CAPABILITIES.has(dir)) found.add(dir);
  if (subfolders('ddos').some((d) => found.has(d))) found.add('ddos');
  return [...found].sort();
}

/** The .ts files (tests aside) a folder owns: its own and those of sub-folders that are not capabilities. */
function ownSources(dir: string, capabilities: ReadonlySet<string>): string[] {
  const out: string[] = [];
  for (const name of readdirSync(new URL(dir, SRC))) {
    const rel = `${dir}/${name}`;
    if (isDir(rel)) {
      if (!capabilities.has(rel)) out.push(...ownSources(rel, capabilities));
    } else if (name.endsWith('.ts') && !name.endsWith('.test.ts')) out.push(rel);
  }
  return out;
}

/** The text of each `## ` section, by heading. */
function sections(readme: string): Map<string, string> {
  const out = new Map<string, string>();
  let current: string | undefined;
  for (const line of readme.split('\n')) {
    const m = /^## (.+)$/.exec(line);
    if (m) out.set((current = m[1]!.trim()), '');
    else if (current !== undefined) out.set(current, out.get(current)! + line + '\n');
  }
  return out;
}

test('capability folders are found (the registry has not moved away from module.ts files)', () => {
  const found = capabilityFolders();
  for (const dir of ['access', 'cluster', 'ddos', 'ddos/bans', 'ddos/ratelimit', 'waf', 'waf-middleware'])
    assert.ok(found.includes(dir), `${dir} is not found as a capability folder (found: ${found.join(', ')})`);
});

test('every capability README has the title, a summary and the five headings, in order', () => {
  const problems: string[] = [];
  for (const dir of capabilityFolders()) {
    const file = `src/${dir}/README.md`;
    if (!has(`${dir}/README.md`)) {
      problems.push(`${file}: missing`);
      continue;
    }
    const lines = readFileSync(new URL(`${dir}/README.md`, SRC), 'utf8').split('\n');
    if (lines[0] !== `# ${dir}`) problems.push(`${file}: first line should be "# ${dir}", not "${lines[0]}"`);
    const summary = lines.slice(1).find((l) => l.trim() !== '');
    if (summary === undefined || summary.startsWith('#')) problems.push(`${file}: no one-line summary under the title`);
    const headings = lines.filter((l) => l.startsWith('## ')).map((l) => l.slice(3).trim());
    const firstFive = headings.slice(0, REQUIRED.length);
    if (firstFive.join(' | ') !== REQUIRED.join(' | '))
      problems.push(`${file}: its first headings are [${firstFive.join(', ')}]; expected [${REQUIRED.join(', ')}]`);
  }
  assert.deepEqual(problems, []);
});

test('each capability README names its metrics and its error codes in the right sections', () => {
  const capabilities = new Set(capabilityFolders());
  const problems: string[] = [];
  for (const dir of capabilities) {
    if (!has(`${dir}/README.md`)) continue; // reported by the test above
    const parts = sections(readFileSync(new URL(`${dir}/README.md`, SRC), 'utf8'));
    const metricsText = parts.get('Metrics') ?? '';
    const errorsText = parts.get('Errors') ?? '';
    for (const file of ownSources(dir, capabilities)) {
      const text = readFileSync(new URL(file, SRC), 'utf8');
      for (const m of text.matchAll(/name: '(bulwark_[a-z0-9_]+)'/g))
        if (!metricsText.includes(m[1]!))
          problems.push(`src/${dir}/README.md: ## Metrics does not name ${m[1]} (${file})`);
      for (const m of text.matchAll(/'(BWK_ERR_[A-Z0-9_]+)'/g))
        if (!errorsText.includes(m[1]!))
          problems.push(`src/${dir}/README.md: ## Errors does not name ${m[1]} (${file})`);
    }
  }
  assert.deepEqual([...new Set(problems)], []);
});

test('docs/architecture.md maps every folder under src/ and the top-level files', () => {
  const doc = readFileSync(new URL('../docs/architecture.md', import.meta.url), 'utf8');
  const mapped = new Set([...doc.matchAll(/^\| `src\/([^`]+?)\/?` +\|/gm)].map((m) => m[1]));
  const folders: string[] = [];
  const walk = (rel: string): void => {
    for (const dir of subfolders(rel)) {
      folders.push(dir);
      walk(dir);
    }
  };
  walk('');
  const topFiles = readdirSync(SRC).filter((f) => f.endsWith('.ts') && !f.endsWith('.test.ts'));
  const missing = [...folders, ...topFiles].filter((f) => !mapped.has(f)).map((f) => `src/${f}`);
  assert.deepEqual(missing, [], 'not in the map of docs/architecture.md (a table row starting with `src/<path>`)');
  const stale = [...mapped].filter((f) => !has(f as string)).map((f) => `src/${f}`);
  assert.deepEqual(stale, [], 'mapped in docs/architecture.md but not in the tree');
});
