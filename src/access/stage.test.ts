import { test } from 'node:test';
import assert from 'node:assert/strict';
import type { Exchange } from '../pipeline/index.js';
import { AccessStage } from './stage.js';

function exchange(address: string, method: string, path: string): Exchange {
  return {
    id: 'id',
    route: 'r',
    client: { address, peer: address, tls: false, protocol: 'http/1.1' },
    request: { method, target: path, path, host: 'h', headers: {}, rawHeaders: [], httpVersion: '1.1' },
    notes: new Map(),
    annotations: {},
    signal: new AbortController().signal,
  };
}

test('first matching rule decides; default applies otherwise', () => {
  const s = new AccessStage({
    default: 'deny',
    rules: [
      { action: 'deny', cidrs: ['10.9.0.0/16'] },
      { action: 'allow', cidrs: ['10.0.0.0/8'] },
      { action: 'allow', methods: ['GET'], paths: ['/status'] },
    ],
  });
  assert.equal(s.onRequestHeaders(exchange('10.9.1.1', 'GET', '/')).kind, 'end');
  assert.equal(s.onRequestHeaders(exchange('10.1.1.1', 'POST', '/x')).kind, 'continue');
  assert.equal(s.onRequestHeaders(exchange('8.8.8.8', 'GET', '/status/x')).kind, 'continue');
  assert.equal(s.onRequestHeaders(exchange('8.8.8.8', 'GET', '/statusx')).kind, 'end');
  assert.equal(s.onRequestHeaders(exchange('8.8.8.8', 'POST', '/status')).kind, 'end');
  const v = s.onRequestHeaders(exchange('2001:db8::1', 'GET', '/'));
  assert.equal(v.kind === 'end' && v.status, 403);
  assert.equal(v.kind === 'end' && v.reason, 'access:denied');
});

test('allow by default when no rule matches', () => {
  const s = new AccessStage({ rules: [{ action: 'deny', paths: ['/.git'] }] });
  assert.equal(s.onRequestHeaders(exchange('1.1.1.1', 'GET', '/.git/config')).kind, 'end');
  assert.equal(s.onRequestHeaders(exchange('1.1.1.1', 'GET', '/index.html')).kind, 'continue');
});
