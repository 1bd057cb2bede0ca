// End to end in headless Chromium: the page solves itself and the browser lands on the origin with the cookie.
// Needs Debian's chromium (CI installs it, see .ci/run); without it this test fails and says so, never skips.
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { existsSync } from 'node:fs';
import { chromium, type Browser } from 'playwright-core';
import { startGateway, startOrigin, type TestGateway, type TestOrigin } from '../../testing/harness.js';

const CHROMIUM = process.env.BULWARK_CHROMIUM ?? '/usr/bin/chromium';
const ORIGIN_BODY = 'hello from the origin';

let origin: TestOrigin;
let gw: TestGateway;
let browser: Browser | undefined;

before(async () => {
  if (!existsSync(CHROMIUM))
    throw new Error(
      `Chromium not found at ${CHROMIUM}: install it (Debian: apt-get install chromium; .ci/run does) ` +
        'or point BULWARK_CHROMIUM at a Chromium binary. This test does not skip.',
    );
  origin = await startOrigin('o', (_req, res) => {
    res.writeHead(200, { 'content-type': 'text/html; charset=utf-8' });
    res.end(`<!doctype html><title>origin</title><p id="origin">${ORIGIN_BODY}</p>`);
  });
  gw = await startGateway(`
listeners: [{ name: public, address: "127.0.0.1:0" }]
pools: { main: { origins: [{ url: "${origin.url}" }] } }
routes:
  - name: site
    pool: main
    stages: { challenge: { difficulty: 12, cookie_ttl: 10m } }
`);
  browser = await chromium.launch({
    executablePath: CHROMIUM,
    // bulwark.test is not a secure context (plain HTTP, not localhost): no crypto.subtle, so the page's own
    // SHA-256 runs there.
    args: ['--no-sandbox', '--host-resolver-rules=MAP bulwark.test 127.0.0.1'],
    timeout: 20_000,
  });
});

after(async () => {
  await browser?.close();
  await gw?.close();
  await origin?.close();
});

async function visit(base: string, secureContext: boolean): Promise<void> {
  const context = await browser!.newContext();
  try {
    const page = await context.newPage();
    const problems: string[] = [];
    page.on('console', (m) => {
      if (m.type() === 'error') problems.push(m.text());
    });
    page.on('pageerror', (e) => problems.push(e.message));
    const first = await page.goto(`${base}/some/page?x=1`);
    assert.equal(first?.status(), 403, 'the challenge page first');
    await page.waitForSelector('#origin', { timeout: 20_000 });
    assert.equal(await page.textContent('#origin'), ORIGIN_BODY);
    assert.equal(page.url(), `${base}/some/page?x=1`, 'back on the original URL');
    assert.equal(await page.evaluate('window.isSecureContext'), secureContext);
    const cookie = (await context.cookies(base)).find((c) => c.name === 'bulwark_challenge');
    assert.ok(cookie, 'the cookie is set');
    assert.match(cookie.value, /^\d+\.12\.[A-Za-z0-9_-]{43}$/);
    assert.equal(cookie.httpOnly, true);
    assert.equal(cookie.sameSite, 'Lax');
    // CSP violations (a wrong script hash) would show here; the solve above would also have hung.
    assert.deepEqual(
      problems.filter((p) => !/403/.test(p)),
      [],
    );
    // The cookie keeps working: a reload goes straight to the origin.
    const again = await page.reload();
    assert.equal(again?.status(), 200);
  } finally {
    await context.close();
  }
}

test(
  'Chromium solves the challenge with crypto.subtle (secure context) and reaches the origin',
  { timeout: 60_000 },
  () => visit(gw.url, true),
);

test(
  'Chromium solves it without crypto.subtle (plain HTTP, not localhost) and reaches the origin',
  { timeout: 60_000 },
  () => visit(`http://bulwark.test:${gw.port}`, false),
);
