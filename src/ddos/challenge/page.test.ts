import { test } from 'node:test';
import assert from 'node:assert/strict';
import { createHash, randomBytes } from 'node:crypto';
import { challengePage, PAGE_CSP, SHA256_JS } from './page.js';
import { acceptsHtml } from './stage.js';

test("the page's fallback SHA-256 (plain HTTP, no crypto.subtle) agrees with node's", () => {
  const sha256 = new Function(`${SHA256_JS}; return sha256;`)() as (m: Uint8Array) => Uint8Array;
  const lengths = [0, 1, 3, 55, 56, 63, 64, 65, 119, 120, 128, 1000];
  for (let i = 0; i < 200; i++) lengths.push(i);
  for (const n of lengths) {
    const m = randomBytes(n);
    assert.equal(Buffer.from(sha256(m)).toString('hex'), createHash('sha256').update(m).digest('hex'), `length ${n}`);
  }
});

test('the page escapes what it echoes and allows only its own script and style', () => {
  const html = challengePage({
    challenge: '1.12.abc',
    difficulty: 12,
    verifyPath: '/a"b',
    returnTo: '/a"b?x=<script>&y=\'',
  });
  assert.ok(html.includes('data-return="/a&quot;b?x=&lt;script&gt;&amp;y=&#39;"'));
  assert.ok(!html.includes('<script>&'));
  assert.equal((html.match(/<script>/g) ?? []).length, 1);
  assert.ok(!/\b(src|href)=/.test(html), 'no external resource');
  const script = /<script>([\s\S]*?)<\/script>/.exec(html)![1]!;
  const digest = createHash('sha256').update(script).digest('base64');
  assert.ok(PAGE_CSP.includes(`script-src 'sha256-${digest}'`), PAGE_CSP);
  assert.match(PAGE_CSP, /default-src 'none'/);
});

test('who gets the page: clients that ask for HTML; curl (*/*) and API clients do not', () => {
  const chrome = 'text/html,application/xhtml+xml,application/xml;q=0.9,image/avif,image/webp,*/*;q=0.8';
  assert.equal(acceptsHtml(chrome), true);
  assert.equal(acceptsHtml('application/xhtml+xml'), true);
  assert.equal(acceptsHtml('TEXT/HTML; q=0.5'), true);
  assert.equal(acceptsHtml('*/*'), false);
  assert.equal(acceptsHtml(undefined), false);
  assert.equal(acceptsHtml('application/json'), false);
  assert.equal(acceptsHtml('text/html;q=0, application/json'), false);
  assert.equal(acceptsHtml('text/html;level=1;q=0.0'), false);
  assert.equal(acceptsHtml('text/htmlx'), false);
});
