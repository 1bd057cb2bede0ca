import { test } from 'node:test';
import assert from 'node:assert/strict';
import fc from 'fast-check';
import { detectSqli } from './sqli/index.js';
import { detectXss } from './xss/index.js';
import { locateVectors, runVectors, summarize } from './vectors.js';

const vectors = locateVectors();

test(
  'libinjection vectors: tokens, folding, fingerprints and html5 tokens agree (≥ 99%)',
  { skip: !vectors && 'libinjection vectors not found (../shared/libinjection/tests)' },
  () => {
    const results = runVectors(vectors!);
    const { lines, agree, total } = summarize(results);
    const pct = ((agree / total) * 100).toFixed(1);
    console.log(`libinjection vectors: ${agree}/${total} agree (${pct}%): ${lines.join(', ')}`);
    for (const r of results.filter((x) => x.actual !== x.expected)) {
      console.log(
        `  differs: ${r.file} input=${JSON.stringify(r.input)} expected=${JSON.stringify(r.expected)} actual=${JSON.stringify(r.actual)}`,
      );
    }
    assert.ok(total >= 480, `expected the full vector set, found ${total}`);
    assert.ok(agree / total >= 0.99, `agreement ${pct}% is below 99%`);
  },
);

test('detectSqli: classic injections give their fingerprint, ordinary text gives null', () => {
  assert.equal(detectSqli("1' OR '1'='1"), 's&sos');
  assert.equal(detectSqli('1 UNION SELECT password FROM users'), '1UEnk');
  assert.equal(detectSqli("admin'--"), 'sc');
  assert.ok(detectSqli('1;DROP TABLE users'));
  assert.ok(detectSqli("' AND SLEEP(5)#"));
  for (const benign of [
    "O'Reilly",
    'hello world',
    'john.doe@example.com',
    '1234',
    'select a colour',
    'rock & roll',
    '',
  ]) {
    assert.equal(detectSqli(benign), null, benign);
  }
});

test('detectXss: script-capable markup in text and in attribute contexts; harmless markup passes', () => {
  const attacks = [
    '<script>alert(1)</script>',
    '<img src=x onerror=alert(1)>',
    '" onmouseover="alert(1)',
    "' autofocus onfocus='alert(1)",
    '<a href="javascript:alert(1)">x</a>',
    '<a href="&#106;avascript:alert(1)">x</a>',
    '<svg/onload=alert(1)>',
    '<iframe src=//evil.example>',
    '<div style="background:url(javascript:alert(1))">',
    '<!--[if IE]><script>alert(1)</script><![endif]-->',
    '<!DOCTYPE html>',
  ];
  for (const a of attacks) assert.equal(detectXss(a), true, a);
  const benign = [
    'hello world',
    'a < b and c > d',
    '<b>bold</b> and <i>italic</i>',
    '<a href="https://example.com/page">link</a>',
    'tom & jerry',
    "it's 5 o'clock",
  ];
  for (const b of benign) assert.equal(detectXss(b), false, b);
});

test('detectors: bounded fuzz never throws and always answers the same way twice', () => {
  const fragment = fc.constantFrom(
    "'",
    '"',
    '`',
    '\\',
    '/*',
    '*/',
    '/*!',
    '--',
    '#',
    '-',
    '+',
    ';',
    ',',
    '(',
    ')',
    '{',
    '}',
    '[',
    ']',
    '@',
    '@@',
    '$',
    '$$',
    '$a$',
    "q'[",
    "N'",
    "E'",
    "U&'",
    "x'",
    "b'",
    '0x',
    '0b',
    '1',
    '1.',
    '.5',
    '1e',
    '1e5',
    '1f',
    'SELECT',
    'UNION',
    'OR',
    'AND',
    'NOT',
    'IN',
    'LIKE',
    'IF',
    'USER',
    'COLLATE',
    '::',
    '<',
    '>',
    '<=>',
    '=',
    '!',
    '<!--',
    '-->',
    '<![CDATA[',
    ']]>',
    '<%',
    '%>',
    '<?',
    '</',
    '/>',
    '<script',
    'onload=',
    'href=',
    '&#x6a;',
    '&#106',
    ' ',
    '\0',
    '\n',
    '\xa0',
    '\xff',
    'a',
    'z',
  );
  const input = fc.oneof(
    fc.array(fragment, { maxLength: 40 }).map((parts) => parts.join('')),
    fc.string({ unit: 'binary', maxLength: 200 }).map((s) => Buffer.from(s, 'utf8').toString('latin1')),
  );
  fc.assert(
    fc.property(input, (s) => {
      const sqli = detectSqli(s);
      assert.ok(sqli === null || (typeof sqli === 'string' && sqli.length >= 1 && sqli.length <= 5));
      assert.equal(detectSqli(s), sqli);
      const xss = detectXss(s);
      assert.equal(typeof xss, 'boolean');
      assert.equal(detectXss(s), xss);
    }),
    { numRuns: 3000, seed: 0x5eed },
  );
});
