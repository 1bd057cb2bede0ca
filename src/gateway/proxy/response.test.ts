import { test } from 'node:test';
import assert from 'node:assert/strict';
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import { CONTINUE, end, Pipeline, type Stage } from '../../pipeline/index.js';
import { GatewayExchange } from '../exchange.js';
import type { RouteRuntime } from '../runtime.js';
import { createSink } from './response.js';

/** Serves one response through a sink fed with `chunks`, as the forwarder would feed it. */
async function serveThrough(
  stages: Stage[],
  chunks: string[],
): Promise<{ status: number; body: string; cut: boolean }> {
  const pipeline = new Pipeline(stages);
  const server = http.createServer((_req, res) => {
    const x = new GatewayExchange(
      'id-1',
      'r',
      { address: '127.0.0.1', peer: '127.0.0.1', tls: false, protocol: 'http/1.1' },
      {
        method: 'GET',
        target: '/',
        path: '/',
        host: 'h',
        headers: {},
        rawHeaders: [],
        httpVersion: '1.1',
      },
    );
    const route = { name: 'r', pipeline, pool: { name: 'p' } } as unknown as RouteRuntime;
    const sink = createSink({ route, res, x, countOut: () => {}, setReason: () => {} });
    sink.onClientGone(() => {});
    sink.start(200, { 'content-type': 'text/plain' }, undefined as never);
    let i = 0;
    const pump = () => {
      while (i < chunks.length) {
        if (!sink.data(Buffer.from(chunks[i++]!))) return sink.onDrain(pump);
      }
      sink.end();
    };
    pump();
  });
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', () => r()));
  const port = (server.address() as AddressInfo).port;
  const result = await new Promise<{ status: number; body: string; cut: boolean }>((resolve) => {
    http
      .get(`http://127.0.0.1:${port}/`, (res) => {
        let body = '';
        res.on('data', (d: Buffer) => (body += d.toString()));
        res.on('end', () => resolve({ status: res.statusCode ?? 0, body, cut: false }));
        res.on('error', () => resolve({ status: res.statusCode ?? 0, body, cut: true }));
        res.on('aborted', () => resolve({ status: res.statusCode ?? 0, body, cut: true }));
      })
      .on('error', () => resolve({ status: 0, body: '', cut: true }));
  });
  server.closeAllConnections();
  server.close();
  return result;
}

const later = <T>(v: T) => new Promise<T>((r) => setTimeout(() => r(v), 5));

test('async response-header verdicts and per-chunk body hooks keep chunks in order', async () => {
  const seen: string[] = [];
  const stages: Stage[] = [
    { name: 'slow-headers', onResponseHeaders: () => later(CONTINUE) },
    {
      name: 'body-watch',
      onResponseBody: (_x, chunk, last) => {
        seen.push(last ? '<end>' : Buffer.from(chunk).toString());
        return seen.length % 2 === 0 ? later(CONTINUE) : CONTINUE;
      },
    },
  ];
  const r = await serveThrough(stages, ['a', 'b', 'c', 'd']);
  assert.equal(r.status, 200);
  assert.equal(r.body, 'abcd');
  assert.deepEqual(seen, ['a', 'b', 'c', 'd', '<end>']);
});

test('a response-header verdict can still refuse with its status', async () => {
  const r = await serveThrough(
    [{ name: 'dlp', onResponseHeaders: () => later(end(502, 'dlp:leak', 'refused')) }],
    ['secret'],
  );
  assert.equal(r.status, 502);
  assert.equal(JSON.parse(r.body).code, 'dlp:leak');
});

test('ending during the body cuts the stream: the status cannot change any more', async () => {
  const r = await serveThrough(
    [
      {
        name: 'dlp',
        onResponseBody: (_x, chunk) => (Buffer.from(chunk).toString() === 'bad' ? end(502, 'dlp:leak') : CONTINUE),
      },
    ],
    ['good', 'bad', 'never'],
  );
  // The headers may or may not have left the socket before the cut; either way the status is never changed.
  assert.ok(r.status === 200 || r.status === 0, `status ${r.status}`);
  assert.equal(r.cut, true);
  assert.equal(r.body.includes('never'), false);
});
