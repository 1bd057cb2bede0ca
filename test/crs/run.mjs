#!/usr/bin/env node
// Runs the OWASP CRS regression suite (go-ftw YAML) against Bulwark over real sockets.
// Bulwark runs the CRS project's test configuration (DetectionOnly, paranoia level 4) in front of a reflection
// backend; each test's log is the set of WAF events between two marker requests, as go-ftw splits ModSecurity's
// log with CRS_ENABLE_TEST_MARKER. Ends with `crs: N passed, M failed, K overridden (of T)`.
//   node test/crs/run.mjs [--filter REGEX] [--crs DIR] [--verbose]
import { spawn } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { mkdtempSync, readdirSync, rmSync, readFileSync, statSync, writeFileSync } from 'node:fs';
import http from 'node:http';
import net from 'node:net';
import { tmpdir } from 'node:os';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { parse } from 'yaml';
import { startAlbedo } from './albedo.mjs';
import { buildRequest, evaluateStage } from './ftw.mjs';

const root = resolve(dirname(fileURLToPath(import.meta.url)), '..', '..');
const args = process.argv.slice(2);
const opt = (name) => {
  const i = args.indexOf(name);
  return i >= 0 ? args[i + 1] : undefined;
};
const crsDir = resolve(opt('--crs') ?? process.env.CRS_DIR ?? join(root, '..', 'shared', 'crs', 'v4.28.0'));
const filter = opt('--filter') ? new RegExp(opt('--filter')) : undefined;
const verbose = args.includes('--verbose');

function walk(dir, out = []) {
  for (const name of readdirSync(dir).sort()) {
    const p = join(dir, name);
    if (statSync(p).isDirectory()) walk(p, out);
    else if (/\.ya?ml$/.test(name)) out.push(p);
  }
  return out;
}

function loadTests() {
  const tests = [];
  for (const file of walk(join(crsDir, 'tests', 'regression', 'tests'))) {
    const doc = parse(readFileSync(file, 'utf8'));
    const base = file
      .split('/')
      .pop()
      .replace(/\.ya?ml$/, '');
    for (const t of doc?.tests ?? []) tests.push({ id: `${base}#${t.test_id}`, stages: t.stages ?? [] });
  }
  return tests;
}

function loadOverrides() {
  const doc = parse(readFileSync(join(root, 'test', 'crs-overrides.yaml'), 'utf8')) ?? {};
  return new Map((doc.overrides ?? []).map((o) => [o.test, o.reason]));
}

function freePort() {
  return new Promise((res) => {
    const s = net.createServer().listen(0, '127.0.0.1', () => {
      const { port } = s.address();
      s.close(() => res(port));
    });
  });
}

/** Sends raw bytes, reads until the server closes or goes quiet; resolves with the status or an error. */
function send(port, bytes, timeoutMs = 3000) {
  return new Promise((res) => {
    const chunks = [];
    const socket = net.connect(port, '127.0.0.1');
    const done = (error) => {
      clearTimeout(timer);
      socket.destroy();
      const text = Buffer.concat(chunks).toString('latin1');
      const m = /^HTTP\/\d(?:\.\d)? (\d{3})/.exec(text);
      res(m ? { status: Number(m[1]) } : { error: error ?? 'no response' });
    };
    const timer = setTimeout(() => done(chunks.length ? undefined : 'timeout'), timeoutMs);
    socket.on('data', (c) => {
      chunks.push(c);
      // A complete response with Content-Length lets us stop early instead of waiting for close.
      const text = Buffer.concat(chunks).toString('latin1');
      const head = text.indexOf('\r\n\r\n');
      const cl = /\r\ncontent-length: *(\d+)/i.exec(text.slice(0, head));
      if (head >= 0 && cl && text.length >= head + 4 + Number(cl[1])) done();
    });
    socket.on('end', () => done());
    socket.on('error', (e) => done(e.code ?? e.message));
    socket.write(bytes);
  });
}

// The admin API's read token for this run: every read under /v1/ needs one.
const READ_TOKEN = randomBytes(18).toString('base64url');

function getJson(url) {
  return new Promise((res, rej) => {
    http
      .get(url, { headers: { authorization: `Bearer ${READ_TOKEN}` } }, (r) => {
        let body = '';
        r.on('data', (c) => (body += c));
        r.on('end', () => res(JSON.parse(body)));
      })
      .on('error', rej);
  });
}

async function main() {
  const started = Date.now();
  const tests = loadTests().filter((t) => !filter || filter.test(t.id));
  const overrides = loadOverrides();
  const albedo = await startAlbedo({ port: 0 });
  const [port, adminPort] = [await freePort(), await freePort()];
  const dir = mkdtempSync(join(tmpdir(), 'bulwark-crs-'));
  const marker = join(dir, 'marker.conf');
  writeFileSync(
    marker,
    'SecRule REQUEST_HEADERS:X-CRS-Test "@rx ^.*$" "id:999999001,phase:1,pass,log,msg:\'%{MATCHED_VAR}\'"\n',
  );
  const config = join(dir, 'bulwark.yaml');
  writeFileSync(
    config,
    `workers: 0
listeners: [{ name: crs, address: "127.0.0.1:${port}", protocols: [http1] }]
admin: { address: "127.0.0.1:${adminPort}", tokens: { read: "${READ_TOKEN}" } }
log: { level: error, access: { enabled: false } }
pools: { albedo: { origins: [{ url: "http://127.0.0.1:${albedo.port}" }] } }
waf:
  engine: detection_only
  crs:
    dir: ${JSON.stringify(crsDir)}
    paranoia_level: 4
    variables: { arg_name_length: 100, arg_length: 400, total_arg_length: 6400, max_num_args: 255, max_file_size: 64100, combined_file_sizes: 65535 }
  request_body: { no_files_limit: 13MiB }
  response_body: { mime_types: [text/plain, text/html, text/xml, application/json] }
  rules_files: [${JSON.stringify(marker)}]
  events: { keep: 20000 }
routes:
  - name: all
    pool: albedo
    limits: { body: 20MiB }
    stages: { waf: {} }
`,
  );
  const child = spawn(process.execPath, [join(root, 'dist', 'main.js'), 'start', '-c', config], {
    stdio: ['ignore', 'ignore', 'inherit'],
  });
  const stop = () => {
    child.kill('SIGKILL');
    albedo.close();
    rmSync(dir, { recursive: true, force: true });
  };
  process.on('SIGINT', () => {
    stop();
    process.exit(130);
  });
  try {
    for (let i = 0; ; i++) {
      try {
        await getJson(`http://127.0.0.1:${adminPort}/healthz`);
        break;
      } catch {
        if (i > 200) throw new Error('bulwark did not start');
        await new Promise((r) => setTimeout(r, 50));
      }
    }
    let after = 0;
    let markerSeq = 0;
    const runStage = async (stage) => {
      const sent = await send(port, buildRequest(stage.input ?? {}));
      const id = `m${++markerSeq}`;
      await send(
        port,
        Buffer.from(`GET /crs-marker HTTP/1.1\r\nHost: localhost\r\nX-CRS-Test: ${id}\r\nConnection: close\r\n\r\n`),
      );
      const events = [];
      for (let tries = 0; tries < 100; tries++) {
        const page = await getJson(`http://127.0.0.1:${adminPort}/v1/events?after=${after}&limit=1000`);
        const at = page.events.findIndex((e) => e.matches?.some((m) => m.id === 999999001 && m.msg === id));
        if (at >= 0) {
          events.push(...page.events.slice(0, at));
          after = page.events[at].seq;
          break;
        }
        await new Promise((r) => setTimeout(r, 5));
      }
      return evaluateStage(stage.output ?? {}, sent, events);
    };
    let passed = 0;
    let failed = 0;
    let overridden = 0;
    for (const [n, t] of tests.entries()) {
      let why;
      for (const stage of t.stages) {
        why = await runStage(stage);
        if (why && stage.output?.retry_once) why = await runStage(stage);
        if (why) break;
      }
      if (!why) passed++;
      else if (overrides.has(t.id)) overridden++;
      else {
        failed++;
        if (verbose || failed <= 400) console.log(`FAIL ${t.id}: ${why}`);
      }
      if ((n + 1) % 500 === 0)
        console.error(`crs: ${n + 1}/${tests.length} (${Math.round((Date.now() - started) / 1000)} s)`);
    }
    console.log(`crs: ${passed} passed, ${failed} failed, ${overridden} overridden (of ${tests.length})`);
    console.error(`crs: ${Math.round((Date.now() - started) / 1000)} s`);
    process.exitCode = failed > 0 ? 1 : 0;
  } finally {
    stop();
  }
}

await main();
