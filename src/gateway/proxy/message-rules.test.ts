import { test } from 'node:test';
import assert from 'node:assert/strict';
import {
  h2AuthorityRefusal,
  maxForwards,
  parseAbsoluteTarget,
  transferCodingRefusal,
  viaEntry,
  viaLoops,
} from './message-rules.js';

test('absolute-form: authority split off, the rest kept byte for byte', () => {
  assert.deepEqual(parseAbsoluteTarget('http://a.example/x/../y?q=%41', 'GET'), {
    authority: 'a.example',
    target: '/x/../y?q=%41',
  });
  assert.deepEqual(parseAbsoluteTarget('HTTPS://[::1]:8443?x', 'GET'), { authority: '[::1]:8443', target: '/?x' });
  assert.deepEqual(parseAbsoluteTarget('http://a.example', 'GET'), { authority: 'a.example', target: '/' });
  assert.deepEqual(parseAbsoluteTarget('http://a.example', 'OPTIONS'), { authority: 'a.example', target: '*' });
  for (const bad of ['ftp://a/x', 'http://u:p@a/x', 'http:///x', 'http://a%2e/x', 'a.example:80', '//a/x'])
    assert.equal(parseAbsoluteTarget(bad, 'GET'), undefined, bad);
});

test('transfer codings: chunked alone passes; chunked last after others is 501; otherwise 400', () => {
  assert.equal(transferCodingRefusal('chunked', 1), undefined);
  assert.equal(transferCodingRefusal(' Chunked ', 1), undefined);
  assert.equal(transferCodingRefusal('gzip, chunked', 1)?.[0], 501);
  assert.equal(transferCodingRefusal('chunked, gzip', 1)?.[0], 400);
  assert.equal(transferCodingRefusal('chunked, chunked', 1)?.[0], 501);
  assert.equal(transferCodingRefusal('chunked', 0)?.[0], 400, 'HTTP/1.0');
});

test('h2 authority: Host must name the same entity after scheme normalisation', () => {
  assert.equal(h2AuthorityRefusal('a.example', 'A.EXAMPLE', 1, false), undefined);
  assert.equal(h2AuthorityRefusal('a.example', 'a.example:80', 1, false), undefined);
  assert.equal(h2AuthorityRefusal('a.example:443', 'a.example', 1, true), undefined);
  assert.equal(h2AuthorityRefusal('[::1]:443', '[::1]', 1, true), undefined);
  assert.ok(h2AuthorityRefusal('a.example', 'a.example:443', 1, false), 'the other scheme default is a port');
  assert.ok(h2AuthorityRefusal('a.example', 'b.example', 1, true));
  assert.ok(h2AuthorityRefusal('a.example', undefined, 2, true), 'two Host fields');
  assert.ok(h2AuthorityRefusal('u@a.example', undefined, 0, true), 'userinfo');
  assert.equal(h2AuthorityRefusal(undefined, 'c.example', 1, true), undefined, 'Host alone');
  assert.equal(h2AuthorityRefusal(undefined, undefined, 0, true), undefined);
});

test('Via: our entry by version; a loop is five entries received by "bulwark", nothing else', () => {
  assert.equal(viaEntry('1.1'), '1.1 bulwark');
  assert.equal(viaEntry('1.0'), '1.0 bulwark');
  assert.equal(viaEntry('2.0'), '2 bulwark');
  const five = ['1.1 bulwark', '1.0 bulwark (x)', '2 bulwark', 'HTTP/1.1 bulwark', '1.1 bulwark'].join(', ');
  assert.equal(viaLoops(five), true);
  assert.equal(viaLoops(five.split(', ').slice(1)), false, 'four, as a list of lines');
  assert.equal(viaLoops('1.1 bulwarkish, 1.1 bulwark-2, 1.1 notbulwark, 1.1 a, 1.1 bulwark'), false);
  assert.equal(viaLoops(Array(5).fill('1.1 bulwark')), true);
});

test('Max-Forwards: digits only', () => {
  assert.equal(maxForwards('0'), 0);
  assert.equal(maxForwards(' 12 '), 12);
  assert.equal(maxForwards('99999999999'), 999_999_999);
  for (const bad of ['', '-1', '1.5', 'two', '0x10']) assert.equal(maxForwards(bad), 'invalid', bad);
});
