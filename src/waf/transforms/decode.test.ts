import { test } from 'node:test';
import assert from 'node:assert/strict';
import { escapeSeqDecode, jsDecode, urlDecode, urlDecodeUni } from './decode.js';

test('URL decoding into a byte buffer gives what the character-by-character path gives (5,000 random inputs)', () => {
  let seed = 11;
  const rnd = () => (seed = (seed * 1103515245 + 12345) >>> 0) / 0x100000000;
  const alphabet = ['%', 'u', 'U', '+', 'a', 'F', '0', '9', 'g', '%2', '%u00', '\u00e9', '\u00ff', ' '];
  for (let i = 0; i < 5000; i++) {
    let s = '';
    const n = Math.floor(rnd() * 20);
    for (let k = 0; k < n; k++) s += alphabet[Math.floor(rnd() * alphabet.length)];
    // A character above 0xFF sends the whole string down the string-building path; it decodes to itself.
    for (const decode of [urlDecode, urlDecodeUni]) {
      assert.equal(decode(s), decode(s + '\u0100').slice(0, -1), JSON.stringify(s));
    }
  }
  assert.equal(urlDecodeUni('a%41+%u0042%uFF01%zz%'), 'aA B!%zz%');
  assert.equal(urlDecode('%u0042'), '%u0042');
});

test('escape decoding into a byte buffer gives what the string-building path gives (5,000 random inputs)', () => {
  let seed = 5;
  const rnd = () => (seed = (seed * 1103515245 + 12345) >>> 0) / 0x100000000;
  const alphabet = ['\\', '\\', 'x', 'X', 'u', '4', '1', 'f', '0', '7', '8', 'n', 'z', '?', "'", '"', '\u00e9', ' '];
  for (let i = 0; i < 5000; i++) {
    let s = '';
    const n = Math.floor(rnd() * 16);
    for (let k = 0; k < n; k++) s += alphabet[Math.floor(rnd() * alphabet.length)];
    // A leading character above 0xFF sends the whole string down the string-building path and stays as it is.
    for (const decode of [jsDecode, escapeSeqDecode]) {
      assert.equal(decode(s), decode('\u0100' + s).slice(1), JSON.stringify(s));
    }
  }
  assert.equal(jsDecode('a\\x41\\u0042\\uFF01\\101\\n\\q\\'), 'aAB!A\nq\\');
  assert.equal(escapeSeqDecode('\\x41\\101\\?\\q\\\\'), 'AA?\\q\\');
  assert.equal(jsDecode('\\'.repeat(65536)), '\\'.repeat(32768));
});
