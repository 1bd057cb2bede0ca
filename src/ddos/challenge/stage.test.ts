import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import {
  request,
  scratchDir,
  startGateway,
  startOrigin,
  type SimpleResponse,
  type TestGateway,
  type TestOrigin,
} from '../../testing/harness.js';
import { solves } from './tokens.js';

const BROWSER = 'text/html,application/xhtml+xml,application/xml;q=0.9,*/*;q=0.8';
const UA = 'Mozilla/5.0 (X11; Linux x86_64) TestBrowser/1.0';
const TOKEN = 'challenge-test-token';

let origin: TestOrigin;
let gw: TestGateway;

before(async () => {
  origin = await startOrigin('o');
  const dir = scratchDir();
  writeFileSync(join(dir, 'challenge.key'), 'x'.repeat(48) + '\n');
  gw = await startGateway(
    `
listeners: [{ name: public, address: "127.0.0.1:0" }]
pools: { main: { origins: [{ url: "${origin.url}" }] } }
admin: { address: "127.0.0.1:0", token: ${TOKEN} }
routes:
  - name: always
    match: { path: { prefix: /always } }
    pool: main
    stages: { challenge: { difficulty: 12, cookie_ttl: 1h } }
  - name: short
    match: { path: { prefix: /short } }
    pool: main
    stages: { challenge: { difficulty: 12, cookie_ttl: 1s, secret_file: challenge.key } }
  - name: never
    match: { path: { prefix: /never } }
    pool: main
    stages: { challenge: { mode: never } }
  - name: plain
    pool: main
`,
    dir,
  );
});

after(async () => {
  await gw.close();
  await origin.close();
});

interface Client {
  accept?: string;
  ua?: string;
  from?: string;
  cookie?: string;
}

const get = (path: string, c: Client = {}): Promise<SimpleResponse> =>
  request(`${gw.url}${path}`, {
    localAddress: c.from ?? '127.0.0.2',
    headers: {
      ...(c.accept === undefined ? {} : { accept: c.accept }),
      'user-agent': c.ua ?? UA,
      ...(c.cookie ? { cookie: c.cookie } : {}),
    },
  });

/** What the page's script does, in Node: read the challenge, find the nonce, build the verify URL. */
function solvePage(html: string): { challenge: string; nonce: string; verifyUrl: string } {
  const attr = (name: string) =>
    (new RegExp(`data-${name}="([^"]*)"`).exec(html)?.[1] ?? '').replace(/&amp;/g, '&').replace(/&quot;/g, '"');
  const challenge = attr('challenge');
  const bits = Number(attr('difficulty'));
  let n = 0;
  while (!solves(challenge, String(n), bits)) n++;
  const verifyUrl =
    `${attr('verify')}?__bulwark_chl=${encodeURIComponent(challenge)}&__bulwark_nonce=${n}` +
    `&__bulwark_return=${encodeURIComponent(attr('return'))}`;
  return { challenge, nonce: String(n), verifyUrl };
}

/** Page, solution, cookie: the whole browser flow without a browser. */
async function earnCookie(path: string, c: Client = {}): Promise<string> {
  const page = await get(path, { ...c, accept: BROWSER });
  assert.equal(page.status, 403);
  const verified = await get(solvePage(page.body).verifyUrl, { ...c, accept: BROWSER });
  assert.equal(verified.status, 303, verified.body);
  const setCookie = verified.headers['set-cookie']?.[0] ?? '';
  return setCookie.slice(0, setCookie.indexOf(';'));
}

test('a browser without a cookie gets the page: 403, no-store, CSP with the script hash, origin not reached', async () => {
  const before = origin.seen.length;
  const r = await get('/always/a?b=1', { accept: BROWSER });
  assert.equal(r.status, 403);
  assert.match(String(r.headers['content-type']), /^text\/html/);
  assert.equal(r.headers['cache-control'], 'no-store');
  assert.equal(r.headers['bulwark-mitigated'], 'challenge');
  assert.match(String(r.headers['content-security-policy']), /script-src 'sha256-[A-Za-z0-9+/]+=*'/);
  assert.match(r.body, /data-difficulty="12"/);
  assert.match(r.body, /data-return="\/always\/a\?b=1"/);
  assert.equal(origin.seen.length, before);
});

test('API clients and curl (Accept: */*) get 429 with Retry-After, never the page', async () => {
  for (const accept of ['application/json', '*/*', '']) {
    const r = await get('/always/api', { accept: accept || undefined });
    assert.equal(r.status, 429, accept);
    assert.equal(r.headers['retry-after'], '30');
    assert.match(String(r.headers['content-type']), /^application\/problem\+json/);
    assert.equal((JSON.parse(r.body) as { code: string }).code, 'challenge:refused');
  }
});

test('a solved challenge sets the cookie and redirects back; with the cookie the origin is reached', async () => {
  const page = await get('/always/x?q=1', { accept: BROWSER });
  const { verifyUrl } = solvePage(page.body);
  const verified = await get(verifyUrl, { accept: BROWSER });
  assert.equal(verified.status, 303);
  assert.equal(verified.headers.location, '/always/x?q=1');
  const setCookie = verified.headers['set-cookie']?.[0] ?? '';
  assert.match(
    setCookie,
    /^bulwark_challenge=\d+\.12\.[A-Za-z0-9_-]{43}; Path=\/; Max-Age=3600; HttpOnly; SameSite=Lax$/,
  );
  const cookie = setCookie.slice(0, setCookie.indexOf(';'));
  const before = origin.seen.length;
  const through = await get('/always/x?q=1', { accept: BROWSER, cookie: `a=b; ${cookie}` });
  assert.equal(through.status, 200);
  assert.equal(through.body, 'ok from o');
  assert.equal(origin.seen.at(-1)?.url, '/always/x?q=1');
  // Once a browser has the cookie, its scripts' fetches (Accept: */*) pass too.
  assert.equal((await get('/always/api', { accept: '*/*', cookie })).status, 200);
  assert.equal(origin.seen.length, before + 2);
});

test('a wrong nonce is refused with a fresh challenge and no cookie', async () => {
  const page = await get('/always/w', { accept: BROWSER });
  const { challenge, nonce } = solvePage(page.body);
  let wrong = Number(nonce) + 1;
  while (solves(challenge, String(wrong), 12)) wrong++;
  const r = await get(`/always/w?__bulwark_chl=${encodeURIComponent(challenge)}&__bulwark_nonce=${wrong}`, {
    accept: BROWSER,
  });
  assert.equal(r.status, 403);
  assert.equal(r.headers['set-cookie'], undefined);
  assert.match(r.body, /data-challenge="/);
  const m = await request(`${gw.adminUrl}/metrics`);
  assert.match(m.body, /bulwark_ddos_challenge_total\{route="always",outcome="failed"\} [1-9]/);
  assert.match(m.body, /bulwark_ddos_challenge_total\{route="always",outcome="solved"\} [1-9]/);
  assert.match(m.body, /bulwark_ddos_challenge_total\{route="always",outcome="refused"\} [1-9]/);
  assert.match(m.body, /bulwark_ddos_challenge_total\{route="always",outcome="issued"\} [1-9]/);
  const events = JSON.parse(
    (
      await request(`${gw.adminUrl}/v1/events?type=challenge&limit=1000`, {
        headers: { authorization: `Bearer ${TOKEN}` },
      })
    ).body,
  ) as {
    events: Array<{ action: string; why?: string }>;
  };
  const actions = new Set(events.events.map((e) => e.action));
  for (const a of ['issued', 'refused', 'solved', 'failed']) assert.ok(actions.has(a), `event ${a}`);
  assert.ok(events.events.some((e) => e.action === 'failed' && e.why === 'wrong_nonce'));
});

test('a solution for one client does not earn a cookie for another, and no redirect leaves the path', async () => {
  const page = await get('/always/s', { accept: BROWSER });
  const { verifyUrl } = solvePage(page.body);
  assert.equal((await get(verifyUrl, { accept: BROWSER, ua: 'Other/1.0' })).status, 403);
  assert.equal((await get(verifyUrl, { accept: BROWSER, from: '127.0.1.2' })).status, 403);
  const away = verifyUrl.replace(/__bulwark_return=[^&]*/, `__bulwark_return=${encodeURIComponent('//evil.example/')}`);
  const r = await get(away, { accept: BROWSER });
  assert.equal(r.status, 303);
  assert.equal(r.headers.location, '/always/s');
});

test('forged, transplanted (other /24, other user agent) and expired cookies get the challenge again', async () => {
  const cookie = await earnCookie('/always/t');
  assert.equal((await get('/always/t', { accept: BROWSER, cookie })).status, 200);
  const [name, value] = cookie.split('=') as [string, string];
  const [expiry, bits, mac] = value.split('.') as [string, string, string];
  const forged = [
    `${name}=${Number(expiry) + 86_400}.${bits}.${mac}`,
    `${name}=${expiry}.${bits}.${mac.slice(0, 10)}${mac[10] === 'A' ? 'B' : 'A'}${mac.slice(11)}`,
    `${name}=garbage`,
  ];
  for (const c of forged) assert.equal((await get('/always/t', { accept: BROWSER, cookie: c })).status, 403, c);
  assert.equal((await get('/always/t', { accept: BROWSER, cookie, from: '127.0.1.2' })).status, 403, 'other /24');
  assert.equal((await get('/always/t', { accept: BROWSER, cookie, ua: 'curl/8.5.0' })).status, 403, 'other UA');
  assert.equal((await get('/always/t', { accept: '*/*', cookie, from: '127.0.1.2' })).status, 429, 'API: 429');
  // A cookie from another route's secret (secret_file) is not valid here, nor the other way round.
  const short = await earnCookie('/short/a');
  assert.equal((await get('/short/a', { accept: BROWSER, cookie: short })).status, 200);
  assert.equal((await get('/always/t', { accept: BROWSER, cookie: short })).status, 403);
  // cookie_ttl: 1s. Expiry is in whole seconds, so after 2.2 s it has certainly passed.
  await new Promise((r) => setTimeout(r, 2200));
  assert.equal((await get('/short/a', { accept: BROWSER, cookie: short })).status, 403, 'expired');
});

test('under-attack mode: admin API with the token puts every route behind the challenge, except mode: never', async () => {
  const admin = (method: string, body?: unknown, token = TOKEN) =>
    request(`${gw.adminUrl}/v1/under-attack`, {
      method,
      headers: { ...(token ? { authorization: `Bearer ${token}` } : {}), 'content-type': 'application/json' },
      body: body === undefined ? undefined : JSON.stringify(body),
    });
  assert.equal((await get('/plain', { accept: BROWSER })).status, 200);
  assert.deepEqual(JSON.parse((await admin('GET')).body), { enabled: false, difficulty: 16 });
  assert.equal((await admin('POST', { enabled: true }, 'wrong')).status, 401);
  assert.equal((await admin('POST', { enabled: true }, '')).status, 401);
  assert.equal((await admin('POST', { enabled: 'yes' })).status, 400);
  assert.equal((await admin('POST', { enabled: true, difficulty: 40 })).status, 400);
  const on = await admin('POST', { enabled: true, difficulty: 12 });
  assert.equal(on.status, 200, on.body);
  assert.equal((JSON.parse((await admin('GET')).body) as { enabled: boolean }).enabled, true);
  try {
    const page = await get('/plain/p', { accept: BROWSER, from: '127.0.0.3' });
    assert.equal(page.status, 403);
    assert.match(page.body, /data-difficulty="12"/);
    assert.equal((await get('/plain/p', { accept: '*/*', from: '127.0.0.3' })).status, 429);
    assert.equal((await get('/never/n', { accept: BROWSER, from: '127.0.0.3' })).status, 200);
    const cookie = await earnCookie('/plain/p', { from: '127.0.0.3' });
    const through = await get('/plain/p', { accept: BROWSER, from: '127.0.0.3', cookie });
    assert.equal(through.status, 200);
    assert.equal(through.body, 'ok from o');
  } finally {
    assert.equal((await admin('POST', { enabled: false })).status, 200);
  }
  assert.equal((await get('/plain/p', { accept: BROWSER, from: '127.0.0.3' })).status, 200);
});

test('a secret_file shorter than 32 bytes refuses the configuration', async () => {
  const dir = scratchDir();
  writeFileSync(join(dir, 'short.key'), 'too short\n');
  await assert.rejects(
    startGateway(
      `
listeners: [{ name: public, address: "127.0.0.1:0" }]
pools: { main: { origins: [{ url: "${origin.url}" }] } }
routes: [{ name: r, pool: main, stages: { challenge: { secret_file: short.key } } }]
`,
      dir,
    ),
    (e: Error & { code?: string }) => e.code === 'BWK_ERR_CHALLENGE_SECRET' && /at least 32/.test(e.message),
  );
});
