import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import http from 'node:http';
import http2 from 'node:http2';
import https from 'node:https';
import tls from 'node:tls';
import { X509Certificate } from 'node:crypto';
import { loadConfigFile } from '../bulwark-config.js';
import { makeCert } from '../testing/certs.js';
import {
  poolYaml,
  scratchDir,
  startGateway,
  startOrigin,
  type TestGateway,
  type TestOrigin,
} from '../testing/harness.js';

let origin: TestOrigin;
let gw: TestGateway;
let tlsPort: number;

before(async () => {
  origin = await startOrigin('o');
  const dir = scratchDir();
  makeCert(dir, 'a', ['a.test']);
  makeCert(dir, 'wild', ['*.b.test']);
  gw = await startGateway(
    `
listeners:
  - { name: clear, address: "127.0.0.1:0", protocols: [http1, h2c] }
  - name: secure
    address: "127.0.0.1:0"
    protocols: [http1, h2]
    tls:
      certificates:
        - { cert: a.pem, key: a.key }
        - { cert: wild.pem, key: wild.key }
${poolYaml([origin.url])}
routes:
  - name: only-b
    match: { hosts: ["*.b.test"] }
    pool: main
  - name: limited
    match: { hosts: [limited.test] }
    pool: main
    stages: { ratelimit: { rules: [{ name: h2-key, key: ["header:x-api-key"], rate: 1/m, burst: 1 }] } }
  - name: only-a
    match: { hosts: [a.test, "127.0.0.1"] }
    pool: main
`,
    dir,
  );
  tlsPort = gw.node.listeners().secure!.port;
});

after(async () => {
  await gw.close();
  await origin.close();
});

function h2Get(
  url: string,
  path: string,
  authority: string,
  options: http2.SecureClientSessionOptions = {},
  extraHeaders: http2.OutgoingHttpHeaders = {},
) {
  return new Promise<{ status: number; body: string; headers: http2.IncomingHttpHeaders }>((resolve, reject) => {
    const session = http2.connect(url, options);
    session.on('error', reject);
    const req = session.request({ ':path': path, ':authority': authority, ...extraHeaders });
    let body = '';
    let headers: http2.IncomingHttpHeaders = {};
    req.on('response', (h) => (headers = h));
    req.on('data', (d: Buffer) => (body += d.toString()));
    req.on('end', () => {
      session.close();
      resolve({ status: Number(headers[':status']), body, headers });
    });
    req.on('error', reject);
    req.end();
  });
}

test('h2c prior knowledge on a cleartext listener that also serves HTTP/1.1', async () => {
  const r = await h2Get(gw.url, '/x', '127.0.0.1');
  assert.equal(r.status, 200);
  assert.equal(r.body, 'ok from o');
  assert.ok(r.headers['x-request-id']);
  const seen = origin.seen.at(-1)!;
  assert.equal(seen.headers.host, '127.0.0.1', 'the :authority becomes Host towards the origin');
  assert.equal(
    Object.keys(seen.headers).some((k) => k.startsWith(':')),
    false,
  );
  assert.equal(seen.headers['transfer-encoding'], undefined, 'a GET without a body is sent without one');
  assert.equal(seen.body.length, 0);
});

test('an h2 POST without content-length streams its body to the origin', async () => {
  const session = http2.connect(gw.url);
  const req = session.request({ ':path': '/post', ':method': 'POST', ':authority': '127.0.0.1' });
  const status = await new Promise<number>((resolve, reject) => {
    req.on('response', (h) => resolve(Number(h[':status'])));
    req.on('error', reject);
    req.end('h2 body');
  });
  req.resume();
  await new Promise((r) => req.on('end', r));
  session.close();
  assert.equal(status, 200);
  assert.equal(origin.seen.at(-1)!.body.toString(), 'h2 body');
});

test('HTTP/1.1 with keep-alive and bodies on the same cleartext listener as h2c', async () => {
  const agent = new http.Agent({ keepAlive: true, maxSockets: 1 });
  for (let i = 0; i < 3; i++) {
    const status = await new Promise<number>((resolve, reject) => {
      http
        .request(`${gw.url}/h1-${i}`, { method: 'POST', agent }, (res) => {
          res.resume();
          res.on('end', () => resolve(res.statusCode ?? 0));
        })
        .on('error', reject)
        .end('z'.repeat(100_000));
    });
    assert.equal(status, 200);
    assert.equal(origin.seen.at(-1)!.body.length, 100_000);
  }
  agent.destroy();
});

test('TLS: SNI picks the certificate (exact and wildcard); ALPN h2 and http/1.1 both work', async () => {
  const peerCert = (servername: string) =>
    new Promise<string>((resolve, reject) => {
      const s = tls.connect({ port: tlsPort, host: '127.0.0.1', servername, rejectUnauthorized: false }, () => {
        const pem = s.getPeerX509Certificate();
        s.destroy();
        resolve((pem as X509Certificate).subjectAltName ?? '');
      });
      s.on('error', reject);
    });
  assert.equal(await peerCert('a.test'), 'DNS:a.test');
  assert.equal(await peerCert('x.b.test'), 'DNS:*.b.test');
  assert.equal(await peerCert('unknown.test'), 'DNS:a.test', 'unknown names get the default certificate');

  const r = await h2Get(`https://127.0.0.1:${tlsPort}`, '/h2', 'x.b.test', {
    servername: 'x.b.test',
    rejectUnauthorized: false,
  });
  assert.equal(r.status, 200);
  const h1 = await new Promise<number>((resolve, reject) => {
    https
      .get(
        {
          host: '127.0.0.1',
          port: tlsPort,
          path: '/h1',
          servername: 'a.test',
          headers: { host: 'a.test' },
          rejectUnauthorized: false,
          ALPNProtocols: ['http/1.1'],
        } as https.RequestOptions,
        (res) => {
          res.resume();
          resolve(res.statusCode ?? 0);
        },
      )
      .on('error', reject);
  });
  assert.equal(h1, 200);
  assert.equal(origin.seen.at(-1)!.headers['x-forwarded-proto'], 'https');
});

/** The certificate a TLS client is given; without `servername`, a client connecting by address sends no SNI. */
function peerCertificate(servername?: string) {
  return new Promise<X509Certificate>((resolve, reject) => {
    const s = tls.connect({ port: tlsPort, host: '127.0.0.1', servername, rejectUnauthorized: false }, () => {
      const cert = s.getPeerX509Certificate()!;
      s.destroy();
      resolve(cert);
    });
    s.on('error', reject);
  });
}

test('TLS without SNI (a client connecting by address): the handshake completes with the first certificate', async () => {
  assert.equal((await peerCertificate()).subjectAltName, 'DNS:a.test');
  assert.equal((await peerCertificate('unknown.test')).subjectAltName, 'DNS:a.test');
  assert.equal((await peerCertificate('x.b.test')).subjectAltName, 'DNS:*.b.test', 'a known name still gets its own');

  const h2 = await h2Get(`https://127.0.0.1:${tlsPort}`, '/h2-no-sni', '127.0.0.1', { rejectUnauthorized: false });
  assert.equal(h2.status, 200);
  assert.equal(h2.body, 'ok from o');
  const h1 = await new Promise<number>((resolve, reject) => {
    https
      .get({ host: '127.0.0.1', port: tlsPort, path: '/h1-no-sni', rejectUnauthorized: false, agent: false }, (res) => {
        res.resume();
        resolve(res.statusCode ?? 0);
      })
      .on('error', reject);
  });
  assert.equal(h1, 200);
});

test('certificates are read again on reload: new handshakes get the new one', async () => {
  const before = (await peerCertificate('a.test')).fingerprint256;
  makeCert(gw.dir, 'a', ['a.test']); // same files, new key and certificate
  const r = loadConfigFile(gw.file);
  assert.ok(r.ok);
  await gw.node.reload(r.loaded);
  const after = (await peerCertificate('a.test')).fingerprint256;
  assert.notEqual(after, before);
  assert.equal((await peerCertificate()).fingerprint256, after, 'the new first certificate is the default too');
  assert.equal(tlsPort, gw.node.listeners().secure!.port, 'the listener stayed up');
});

test('no route for the host: 404 problem details over h2', async () => {
  const r = await h2Get(gw.url, '/', 'other.test');
  assert.equal(r.status, 404);
  assert.equal(JSON.parse(r.body).code, 'BWK_ERR_GATEWAY_NO_ROUTE');
});

test('a stage refusal over h2: 429 problem details with the rule headers and the request id', async () => {
  const get = () => h2Get(gw.url, '/', 'limited.test', {}, { 'x-api-key': 'h2' });
  assert.equal((await get()).status, 200);
  const refused = await get();
  assert.equal(refused.status, 429);
  assert.equal(refused.headers['content-type'], 'application/problem+json');
  assert.equal(refused.headers['ratelimit-policy'], '"h2-key";q=1;w=60');
  assert.ok(Number(refused.headers['retry-after']) >= 1);
  assert.equal(Number(refused.headers['content-length']), Buffer.byteLength(refused.body));
  const problem = JSON.parse(refused.body) as { code: string; request_id: string };
  assert.equal(problem.code, 'ratelimit:h2-key');
  assert.equal(problem.request_id, refused.headers['x-request-id']);
});

test('the front half refuses over h2 as over HTTP/1.1: 414, 431 and a fragment, as problem details', async () => {
  const cases: Array<[string, http2.OutgoingHttpHeaders, number, string]> = [
    [`/${'u'.repeat(9000)}`, {}, 414, 'BWK_ERR_URI_TOO_LONG'],
    ['/pad', { 'x-pad': 'p'.repeat(17_000) }, 431, 'BWK_ERR_HEADERS_TOO_LARGE'],
    ['/frag#x', {}, 400, 'BWK_ERR_BAD_REQUEST'],
  ];
  for (const [path, extra, status, code] of cases) {
    const r = await h2Get(gw.url, path, '127.0.0.1', {}, extra);
    assert.equal(r.status, status, path.slice(0, 20));
    assert.equal(r.headers.connection, undefined, 'no Connection header on h2');
    const problem = JSON.parse(r.body) as { code: string; request_id: string };
    assert.equal(problem.code, code);
    assert.equal(problem.request_id, r.headers['x-request-id']);
  }
});
