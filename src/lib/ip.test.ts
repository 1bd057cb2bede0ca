import { test } from 'node:test';
import assert from 'node:assert/strict';
import { IpSet, normaliseAddress, parseCidr, type Cidr } from './ip.js';

const set = (...c: string[]) => new IpSet(c.map((x) => parseCidr(x) as Cidr));

test('IPv4 CIDRs match by prefix', () => {
  const s = set('10.0.0.0/8', '192.168.1.7', '0.0.0.0/32');
  assert.equal(s.has('10.200.3.4'), true);
  assert.equal(s.has('11.0.0.1'), false);
  assert.equal(s.has('192.168.1.7'), true);
  assert.equal(s.has('192.168.1.8'), false);
});

test('IPv6 CIDRs match by prefix, including compressed forms', () => {
  const s = set('2001:db8::/32', '::1');
  assert.equal(s.has('2001:db8:ffff::1'), true);
  assert.equal(s.has('2001:db9::1'), false);
  assert.equal(s.has('::1'), true);
  assert.equal(s.has('0:0:0:0:0:0:0:1'), true);
});

test('IPv4-mapped IPv6 is treated as IPv4', () => {
  assert.equal(normaliseAddress('::ffff:10.1.2.3'), '10.1.2.3');
  const s = set('10.0.0.0/8');
  assert.equal(s.has('::ffff:10.1.2.3'), true);
  const mapped = set('::ffff:10.0.0.0/104');
  assert.equal(mapped.has('10.9.9.9'), true, 'a mapped /104 is the IPv4 /8');
  assert.equal(mapped.has('11.0.0.1'), false);
  assert.equal(typeof parseCidr('::ffff:10.0.0.0/64'), 'string', 'a mapped prefix below 96 is refused');
});

test('malformed CIDRs are refused with a message', () => {
  assert.equal(typeof parseCidr('10.0.0.0/33'), 'string');
  assert.equal(typeof parseCidr('nope'), 'string');
  assert.equal(typeof parseCidr('1.2.3.4/x'), 'string');
  assert.equal(typeof parseCidr('2001:db8::/129'), 'string');
  assert.equal((parseCidr('0.0.0.0/0') as Cidr).prefix, 0);
  assert.equal(set('0.0.0.0/0').has('8.8.8.8'), true);
  assert.equal(set('::/0').has('2001::1'), true);
});
