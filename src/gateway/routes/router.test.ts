import { test } from 'node:test';
import assert from 'node:assert/strict';
import { compileRoute, normaliseHost, Router } from './router.js';
import type { RouteConfig } from '../schema.js';

const route = (name: string, match: RouteConfig['match']): RouteConfig => ({ name, pool: 'p', match });

function router(...routes: RouteConfig[]) {
  return new Router(routes.map((r) => compileRoute(r, r.name)));
}

test('hosts: exact and wildcard, case-insensitive, port ignored', () => {
  const r = router(route('api', { hosts: ['api.example.com'] }), route('wild', { hosts: ['*.example.com'] }));
  assert.equal(r.match(normaliseHost('API.example.com:8443'), '/', 'GET'), 'api');
  assert.equal(r.match('a.b.example.com', '/', 'GET'), 'wild');
  assert.equal(r.match('example.com', '/', 'GET'), undefined, 'a wildcard needs a label before it');
  assert.equal(normaliseHost('[::1]:8080'), '[::1]');
});

test('paths: exact, segment prefix, RE2 regex; methods; first match wins', () => {
  const r = router(
    route('exact', { path: { exact: '/login' } }),
    route('prefix', { path: { prefix: '/api' }, methods: ['GET'] }),
    route('regex', { path: { regex: '^/users/[0-9]+$' } }),
    route('fallback', undefined),
  );
  assert.equal(r.match('h', '/login', 'POST'), 'exact');
  assert.equal(r.match('h', '/login/x', 'POST'), 'fallback');
  assert.equal(r.match('h', '/api', 'GET'), 'prefix');
  assert.equal(r.match('h', '/api/v1', 'GET'), 'prefix');
  assert.equal(r.match('h', '/apix', 'GET'), 'fallback', 'prefixes match whole segments');
  assert.equal(r.match('h', '/api/v1', 'POST'), 'fallback');
  assert.equal(r.match('h', '/users/42', 'GET'), 'regex');
  assert.equal(r.match('h', '/users/4x', 'GET'), 'fallback');
});
