import { test } from 'node:test';
import assert from 'node:assert/strict';
import fc from 'fast-check';
import { parseJson, parseMultipart, parseUrlEncoded, parseXml } from './index.js';

const limits = { maxArgs: 100, maxJsonDepth: 32 };

test('URL-encoded: + and %XX decoded, bad escapes kept, names without = have empty values', () => {
  assert.deepEqual(parseUrlEncoded('a=1+2&b=%41%zz&c&&d=', limits).args, [
    ['a', '1 2'],
    ['b', 'A%zz'],
    ['c', ''],
    ['d', ''],
  ]);
  assert.match(parseUrlEncoded('a=1&b=2&c=3', { ...limits, maxArgs: 2 }).error!.message, /argument count/);
});

test('JSON: dotted names with array indexes; UTF-8 kept as bytes; errors and depth refused', () => {
  const r = parseJson('{"a":{"b":[1,"x"],"n":null},"\xc3\xa9":true}', limits);
  assert.deepEqual(r.args, [
    ['json.a.b.0', '1'],
    ['json.a.b.1', 'x'],
    ['json.a.n', ''],
    ['json.\xc3\xa9', 'true'],
  ]);
  assert.match(parseJson('{"a":', limits).error!.message, /^JSON parsing error/);
  assert.match(parseJson('['.repeat(40) + ']'.repeat(40), limits).error!.message, /nesting deeper than 32/);
});

test('multipart: fields, files, part headers and strictness flags', () => {
  const body =
    'preamble\r\n--B\r\nContent-Disposition: form-data; name="a"\r\n\r\none\r\n' +
    '--B\r\nContent-Disposition: form-data; name="f"; filename="x.php"\r\nContent-Type: text/plain\r\n\r\n<?php\r\n' +
    '--B--\r\nepilogue';
  const r = parseMultipart(body, 'multipart/form-data; boundary=B', limits);
  assert.equal(r.error, undefined);
  assert.deepEqual(r.args, [['a', 'one']]);
  assert.deepEqual(r.files, [{ name: 'f', filename: 'x.php', size: 5, contentType: 'text/plain' }]);
  assert.deepEqual(r.partHeaders[2], ['f', 'Content-Type: text/plain']);
  assert.equal(r.flags['MULTIPART_DATA_BEFORE'], 1);
  assert.equal(r.flags['MULTIPART_DATA_AFTER'], 1);
  assert.equal(r.flags['MULTIPART_STRICT_ERROR'], 1);
  const quoted = parseMultipart(
    '--B\nContent-Disposition: form-data name=a\n\nv\n--B--',
    'multipart/form-data; boundary="B"',
    limits,
  );
  assert.equal(quoted.flags['MULTIPART_BOUNDARY_QUOTED'], 1);
  assert.equal(quoted.flags['MULTIPART_LF_LINE'], 1);
  assert.equal(quoted.flags['MULTIPART_MISSING_SEMICOLON'], 1);
  assert.match(
    parseMultipart('--B\r\n\r\nx', 'multipart/form-data; boundary=B', limits).error!.message,
    /Final boundary missing/,
  );
  assert.match(parseMultipart('x', 'multipart/form-data', limits).error!.message, /Boundary not found/);
});

test('XML: text of the document and every attribute; malformed XML is an error with its position', () => {
  const r = parseXml('<a x="1"><b y="2">hi</b><![CDATA[ <c> ]]></a>', limits);
  assert.equal(r.error, undefined);
  assert.equal(r.rootText, 'hi <c> ');
  assert.deepEqual(r.attributes, ['1', '2']);
  assert.match(parseXml('<a><b></a>', limits).error!.message, /^XML parser error: .*line 1/);
});

test('fuzz: no body makes a processor throw', () => {
  const text = fc.string({
    maxLength: 600,
    unit: fc.constantFrom(
      '-',
      'B',
      '\r',
      '\n',
      '"',
      ':',
      ';',
      '=',
      'a',
      '<',
      '>',
      '{',
      '}',
      '[',
      ']',
      ',',
      '&',
      '%',
      ' ',
    ),
  });
  fc.assert(
    fc.property(text, (s) => {
      parseUrlEncoded(s, limits);
      parseJson(s, limits);
      parseMultipart(s, 'multipart/form-data; boundary=B', limits);
      parseXml(s, limits);
    }),
    { numRuns: 1500 },
  );
});
