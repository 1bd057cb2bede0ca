import { test } from 'node:test';
import assert from 'node:assert/strict';
import { IpSet, parseCidr, type Cidr } from '../../lib/ip.js';
import { clientAddress, clientResponseHeaders, compileHeaderEdits, originRequestHeaders } from './headers.js';

const trusted = new IpSet([parseCidr('10.0.0.0/8') as Cidr]);

function toMap(flat: string[]): Map<string, string[]> {
  const m = new Map<string, string[]>();
  for (let i = 0; i < flat.length; i += 2) {
    const k = flat[i]!.toLowerCase();
    m.set(k, [...(m.get(k) ?? []), flat[i + 1]!]);
  }
  return m;
}

test('hop-by-hop headers and those named in Connection are dropped', () => {
  const raw = [
    'Host',
    'a',
    'Connection',
    'keep-alive, X-Secret',
    'X-Secret',
    's',
    'Keep-Alive',
    '5',
    'TE',
    'x',
    'Transfer-Encoding',
    'chunked',
    'Upgrade',
    'foo',
    'Accept',
    '*/*',
    'Expect',
    '100-continue',
  ];
  const m = toMap(
    originRequestHeaders(raw, { peer: '1.2.3.4', peerTrusted: false, tls: false, host: 'a', requestId: 'r1' }),
  );
  for (const gone of ['connection', 'x-secret', 'keep-alive', 'te', 'transfer-encoding', 'upgrade', 'expect'])
    assert.equal(m.has(gone), false, gone);
  assert.deepEqual(m.get('accept'), ['*/*']);
  assert.deepEqual(m.get('host'), ['a']);
});

test('forwarding headers: replaced from untrusted peers, extended from trusted ones', () => {
  const raw = ['X-Forwarded-For', '6.6.6.6', 'Forwarded', 'for=6.6.6.6', 'X-Request-Id', 'spoof'];
  const untrusted = toMap(
    originRequestHeaders(raw, { peer: '1.2.3.4', peerTrusted: false, tls: true, host: 'h', requestId: 'id1' }),
  );
  assert.deepEqual(untrusted.get('x-forwarded-for'), ['1.2.3.4']);
  assert.deepEqual(untrusted.get('x-forwarded-proto'), ['https']);
  assert.deepEqual(untrusted.get('forwarded'), ['for=1.2.3.4;host="h";proto=https']);
  assert.deepEqual(untrusted.get('x-request-id'), ['id1']);
  const viaProxy = toMap(
    originRequestHeaders(raw, { peer: '10.0.0.1', peerTrusted: true, tls: false, host: 'h', requestId: 'id2' }),
  );
  assert.deepEqual(viaProxy.get('x-forwarded-for'), ['6.6.6.6, 10.0.0.1']);
  assert.deepEqual(viaProxy.get('forwarded'), ['for=6.6.6.6, for=10.0.0.1;host="h";proto=http']);
  const v6 = toMap(
    originRequestHeaders([], { peer: '::1', peerTrusted: false, tls: false, host: 'h', requestId: 'i' }),
  );
  assert.deepEqual(v6.get('forwarded'), ['for="[::1]";host="h";proto=http']);
});

test('client address: the socket peer unless a trusted proxy vouches, read right to left', () => {
  assert.equal(clientAddress('1.2.3.4', '9.9.9.9', trusted), '1.2.3.4', 'untrusted peer: XFF ignored');
  assert.equal(clientAddress('10.0.0.1', '9.9.9.9, 10.0.0.2', trusted), '9.9.9.9');
  assert.equal(clientAddress('::ffff:10.0.0.1', '5.5.5.5', trusted), '5.5.5.5');
  assert.equal(clientAddress('10.0.0.1', '10.0.0.3', trusted), '10.0.0.1', 'all hops trusted: the peer');
});

test('response headers: hop-by-hop dropped, edits applied, request id set', () => {
  const edits = compileHeaderEdits({ set: { 'X-Frame-Options': 'DENY' }, add: { Vary: 'Origin' }, remove: ['Server'] });
  const out = clientResponseHeaders(
    { connection: 'close', 'keep-alive': 'x', server: 'nginx', vary: 'Accept', 'content-type': 'text/plain' },
    'rid',
    edits,
  );
  assert.deepEqual(out, {
    vary: ['Accept', 'Origin'],
    'content-type': 'text/plain',
    'x-frame-options': 'DENY',
    'x-request-id': 'rid',
  });
});
