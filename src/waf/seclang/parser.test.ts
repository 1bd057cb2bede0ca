import { test } from 'node:test';
import assert from 'node:assert/strict';
import fc from 'fast-check';
import { parseSecLang } from './parser.js';

test('continuations, quoting and escapes are read as ModSecurity reads them', () => {
  const r = parseSecLang(
    `# a comment
SecRule REQUEST_HEADERS:User-Agent|!REQUEST_HEADERS:Referer "@rx ^a\\"b" \\
    "id:1,\\
    msg:'it\\'s, here',\\
    t:none"
`,
    'f.conf',
  );
  assert.deepEqual(r.problems, []);
  const d = r.directives[0]!;
  assert.equal(d.kind, 'rule');
  if (d.kind !== 'rule') return;
  assert.equal(d.source.line, 2);
  assert.equal(d.operator.argument, '^a"b');
  assert.deepEqual(
    d.variables.map((v) => [v.name, v.key, v.exclude]),
    [
      ['REQUEST_HEADERS', 'User-Agent', false],
      ['REQUEST_HEADERS', 'Referer', true],
    ],
  );
  assert.deepEqual(d.actions, [
    { name: 'id', value: '1' },
    { name: 'msg', value: "it's, here" },
    { name: 't', value: 'none' },
  ]);
});

test('syntax errors name file, line and directive; the other directives still parse', () => {
  const r = parseSecLang(`SecRule ARGS "@rx a" "id:1\nSecFoo bar\nSecMarker END`, 'bad.conf');
  assert.deepEqual(
    r.problems.map((p) => `${p.file}:${p.line}: ${p.directive}: ${p.message}`),
    ['bad.conf:1: SecRule: unterminated double-quoted argument', 'bad.conf:2: SecFoo: unknown directive "SecFoo"'],
  );
  assert.equal(r.directives.length, 1);
});

test('fuzz: no input makes the parser throw', () => {
  const pieces = fc.constantFrom(
    'SecRule ',
    'SecAction ',
    'ARGS',
    '|',
    '!',
    '&',
    ':',
    '"',
    "'",
    '\\',
    '\n',
    ' ',
    '@rx ',
    'id:1',
    ',',
    'chain',
    '/',
  );
  fc.assert(
    fc.property(fc.array(fc.oneof(pieces, fc.string({ maxLength: 8 })), { maxLength: 60 }), (parts) => {
      const r = parseSecLang(parts.join(''), 'fuzz.conf');
      assert.ok(Array.isArray(r.directives));
    }),
    { numRuns: 1500 },
  );
});
