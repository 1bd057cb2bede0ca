/**
 * Runs libinjection's published test vectors (`test-*.txt`: `--INPUT--` and `--EXPECTED--` sections) against
 * Bulwark's detectors and reports the agreement. Used by detect.test.ts; `node dist/waf/detect/vectors.js [DIR]`
 * prints every disagreement.
 */
import { existsSync, readdirSync, readFileSync } from 'node:fs';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { detectSqli, fingerprint, fold, SqlLexer, type SqlToken } from './sqli/index.js';
import { FLAG_QUOTE_NONE, FLAG_SQL_ANSI, newToken, T } from './sqli/tokenizer.js';
import { Html5Tokenizer } from './xss/index.js';

export interface VectorResult {
  readonly file: string;
  readonly kind: string;
  readonly input: string;
  readonly expected: string;
  readonly actual: string;
}

/** The vectors beside the repository (../shared/libinjection/tests) or in $BULWARK_LIBINJECTION_TESTS. */
export function locateVectors(): string | undefined {
  const here = dirname(fileURLToPath(import.meta.url));
  const candidates = [
    process.env.BULWARK_LIBINJECTION_TESTS,
    resolve(here, '..', '..', '..', '..', 'shared', 'libinjection', 'tests'),
    resolve(process.cwd(), '..', 'shared', 'libinjection', 'tests'),
  ];
  return candidates.find((dir): dir is string => !!dir && existsSync(dir));
}

function section(text: string, name: string): string {
  const start = text.indexOf(`--${name}--\n`);
  if (start === -1) return '';
  const from = start + name.length + 5;
  // The next section header; an input line may itself start with `--`.
  const header = /\n--[A-Z]+--\n/g;
  header.lastIndex = from - 1;
  const next = header.exec(text);
  return next ? text.slice(from, next.index + 1) : text.slice(from);
}

function printToken(t: SqlToken): string {
  const quoted = `${t.open}${t.text}${t.close}`;
  if (t.type === T.string) return `${t.type} ${quoted}`;
  if (t.type === T.variable) return `${t.type} ${'@'.repeat(Math.min(t.count, 2))}${quoted}`;
  return `${t.type} ${t.text}`;
}

function runOne(kind: string, input: string): string {
  switch (kind) {
    case 'tokens': {
      const lexer = new SqlLexer(input, FLAG_QUOTE_NONE | FLAG_SQL_ANSI);
      const out: string[] = [];
      const t = newToken();
      while (lexer.next(t)) out.push(printToken(t));
      return out.join('\n');
    }
    case 'folding': {
      const lexer = new SqlLexer(input, FLAG_QUOTE_NONE | FLAG_SQL_ANSI);
      const vec = Array.from({ length: 8 }, newToken);
      const n = fold(lexer, vec);
      return vec.slice(0, n).map(printToken).join('\n');
    }
    case 'sqli':
      return detectSqli(input) ?? '';
    case 'html5': {
      const h = new Html5Tokenizer(input, 'data');
      const out: string[] = [];
      while (h.next()) out.push(`${h.tokenType},${h.tokenLen},${h.token}`);
      return out.join('\n');
    }
    default:
      throw new Error(`unknown vector kind ${kind}`);
  }
}

export function runVectors(dir: string): VectorResult[] {
  const results: VectorResult[] = [];
  for (const file of readdirSync(dir).sort()) {
    const kind = /^test-(tokens|folding|sqli|html5)/.exec(file)?.[1];
    if (!kind) continue;
    // Byte strings, as the WAF hands values to the detectors.
    const text = readFileSync(join(dir, file), 'latin1');
    const input = section(text, 'INPUT').replace(/\n$/, '');
    const expected = section(text, 'EXPECTED').replace(/\s+$/, '');
    let actual: string;
    try {
      actual = runOne(kind, input).replace(/\s+$/, '');
    } catch (err) {
      actual = `THREW ${(err as Error).message}`;
    }
    results.push({ file, kind, input, expected, actual });
  }
  return results;
}

/** Agreement per kind and overall, e.g. `sqli 50/50`. */
export function summarize(results: readonly VectorResult[]): { lines: string[]; agree: number; total: number } {
  const kinds = new Map<string, [number, number]>();
  for (const r of results) {
    const k = kinds.get(r.kind) ?? [0, 0];
    k[1]++;
    if (r.actual === r.expected) k[0]++;
    kinds.set(r.kind, k);
  }
  const lines = [...kinds].map(([kind, [ok, n]]) => `${kind} ${ok}/${n}`);
  const agree = results.filter((r) => r.actual === r.expected).length;
  return { lines, agree, total: results.length };
}

// Keep `fingerprint` reachable for ad-hoc debugging from the command line.
export { fingerprint };

if (process.argv[1] && fileURLToPath(import.meta.url) === resolve(process.argv[1])) {
  const dir = process.argv[2] ?? locateVectors();
  if (!dir) {
    console.error('libinjection vectors not found: pass a directory or set BULWARK_LIBINJECTION_TESTS');
    process.exit(2);
  }
  const results = runVectors(dir);
  for (const r of results.filter((x) => x.actual !== x.expected)) {
    console.log(
      `--- ${r.file}\ninput:    ${JSON.stringify(r.input)}\nexpected: ${JSON.stringify(r.expected)}\nactual:   ${JSON.stringify(r.actual)}`,
    );
  }
  const s = summarize(results);
  console.log(`libinjection vectors: ${s.agree}/${s.total} agree (${s.lines.join(', ')})`);
}
