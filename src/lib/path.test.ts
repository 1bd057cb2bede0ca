import { test } from 'node:test';
import assert from 'node:assert/strict';
import { routingPath } from './path.js';

test('dot segments, repeated slashes and encoded unreserved characters are resolved for routing', () => {
  assert.equal(routingPath('/a/b'), '/a/b');
  assert.equal(routingPath('/admin/../x'), '/x');
  assert.equal(routingPath('//admin'), '/admin');
  assert.equal(routingPath('/%61dmin'), '/admin');
  assert.equal(routingPath('/a/./b/'), '/a/b/');
  assert.equal(routingPath('/%2e%2e/admin'), '/admin');
  assert.equal(routingPath('/../../etc'), '/etc');
  assert.equal(routingPath('/a%2Fb'), '/a%2Fb', 'an encoded slash is not a separator');
});
