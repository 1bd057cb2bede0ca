import { test } from 'node:test';
import assert from 'node:assert/strict';
import { PhraseMatcher } from './aho-corasick.js';
import { compileRegex } from './regex.js';
import { attachPrefilters } from './prefilter.js';
import { parseSecLang } from '../seclang/parser.js';
import { compileRuleSet } from './compile.js';
import { Transaction } from './transaction.js';
import { lowercase, uppercase } from '../transforms/text.js';

/** A small seeded generator, so a failure can be replayed. */
function random(seed: number): () => number {
  let s = seed >>> 0;
  return () => {
    s = (s * 1664525 + 1013904223) >>> 0;
    return s / 0x100000000;
  };
}

function naiveFind(phrases: readonly string[], subject: string): string | undefined {
  const lower = (s: string) => lowercase(s);
  const subj = lower(subject);
  for (let end = 1; end <= subject.length; end++) {
    let best: string | undefined;
    for (const p of phrases) {
      if (p.length === 0 || p.length > end) continue;
      if (subj.slice(end - p.length, end) === lower(p) && (best === undefined || p.length > best.length)) best = p;
    }
    if (best !== undefined) return subject.slice(end - best.length, end);
  }
  return undefined;
}

test('the dense Aho-Corasick table finds what a naive scan finds (2,000 random cases)', () => {
  const rnd = random(7);
  const alphabet = 'abAB<>\\\u00e9\u00c9 -x';
  const word = (max: number) => {
    let s = '';
    const n = 1 + Math.floor(rnd() * max);
    for (let i = 0; i < n; i++) s += alphabet[Math.floor(rnd() * alphabet.length)];
    return s;
  };
  let found = 0;
  for (let i = 0; i < 2000; i++) {
    const phrases = Array.from({ length: 1 + Math.floor(rnd() * 6) }, () => word(4));
    const subject = word(24);
    const expected = naiveFind(phrases, subject);
    assert.equal(new PhraseMatcher(phrases).find(subject), expected, `${JSON.stringify(phrases)} in ${subject}`);
    if (expected !== undefined) found++;
  }
  assert.ok(found > 200 && found < 1900, `a useful mix of hits and misses (${found} hits)`);
});

test('lowercase and uppercase change ASCII letters only, on every path (ASCII, Latin-1, wider)', () => {
  assert.equal(lowercase('AbC%5C'), 'abc%5c');
  assert.equal(lowercase('\u00c9A\u00e9'), '\u00c9a\u00e9');
  assert.equal(lowercase('\u0100A'), '\u0100a');
  assert.equal(uppercase('ab\u00e9'), 'AB\u00e9');
  assert.equal(lowercase('%5C'.repeat(20000)), '%5c'.repeat(20000));
});

test('the prefilter Sets agree with each pattern run alone, and rules see the same verdicts with it', () => {
  const patterns = [
    '(?i)union\\s+select',
    '<script',
    '^[\\w.-]+$',
    '(?i:on(?:load|error))\\s*=',
    '\\bselect\\b',
    '\\x{c3}\\x{a9}',
    '\\.\\./',
    '^$',
  ];
  const rules = patterns
    .map((p, i) => `SecRule ARGS "@rx ${p.replace(/"/g, '\\"')}" "id:${i + 1},phase:2,pass,t:none,log"`)
    .join('\n');
  const parsed = parseSecLang(rules, 'p.conf');
  assert.deepEqual(parsed.problems, []);
  const compiled = compileRuleSet(parsed.directives);
  if (!compiled.ok) return assert.fail(compiled.problems.map((p) => p.message).join('; '));
  const ruleSet = compiled.ruleSet;
  const stats = attachPrefilters(ruleSet.programs);
  assert.equal(stats.patterns, patterns.length);
  assert.ok(stats.sets >= 1);
  const singles = patterns.map((p) => {
    const r = compileRegex(p);
    assert.ok(r.ok);
    return r.regex;
  });
  const values = ['UNION  select 1', '<script>', 'a.b-c', 'x onerror =1', 'selected', '\u00c3\u00a9', '../x', '', 'ok'];
  for (const v of values) {
    const tx = new Transaction(ruleSet, 't');
    tx.processRequestHeaders({
      method: 'GET',
      uri: `/?v=${encodeURIComponent(v)}`,
      protocol: 'HTTP/1.1',
      headers: [['Host', 'x']],
      clientAddress: '192.0.2.1',
      clientPort: 1,
    });
    tx.processRequestBody(undefined);
    const matched = tx.matches.map((m) => m.id).sort((a, b) => a - b);
    const subject = Buffer.from(Buffer.from(v, 'utf8').toString('latin1'), 'utf8');
    const expected = singles.flatMap((re, i) => (re.test(subject) ? [i + 1] : []));
    assert.deepEqual(matched, expected, `value ${JSON.stringify(v)}`);
  }
});

test('values with the same prefilter answer share one answer object (unions of them are then found again)', () => {
  const rules = ['\\bselect\\b', '<script', '^[0-9]+$']
    .map((p, i) => `SecRule ARGS "@rx ${p}" "id:${i + 1},phase:2,pass,t:none"`)
    .join('\n');
  const compiled = compileRuleSet(parseSecLang(rules, 'p.conf').directives);
  if (!compiled.ok) return assert.fail(compiled.problems.map((p) => p.message).join('; '));
  attachPrefilters(compiled.ruleSet.programs);
  const rule = compiled.ruleSet.programs[2]!.find((e) => 'prefilter' in e && e.prefilter !== undefined);
  const prefilter = rule && 'prefilter' in rule ? rule.prefilter : undefined;
  if (!prefilter) return assert.fail('no prefilter attached');
  const a = prefilter.match(Buffer.from('12345'));
  const b = prefilter.match(Buffer.from('67890'));
  const c = prefilter.match(Buffer.from('select 1'));
  assert.ok(a && b && c);
  assert.equal(a, b, 'two ids: one object');
  assert.notEqual(a, c);
  assert.deepEqual([...a], [0b100]);
  assert.deepEqual([...c], [0b001]);
});
