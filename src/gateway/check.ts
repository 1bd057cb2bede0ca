/**
 * The gateway's load-time checks that the schema cannot express: references between sections, unique names,
 * addresses that collide, certificate files, regexes that must compile. Stage configs are checked by their modules.
 * The document may have failed the schema, so it is read defensively.
 */
import { existsSync } from 'node:fs';
import { resolve } from 'node:path';
import RE2 from 're2';
import { splitAddress } from '../config/index.js';
import { parseCidr } from '../lib/ip.js';
import type { GatewayConfig } from './schema.js';

type Report = (path: ReadonlyArray<string | number>, message: string) => void;

export function checkGateway(config: GatewayConfig, report: Report, baseDir: string): void {
  const pools = config.pools ?? {};
  const poolNames = Object.keys(pools);
  const known = poolNames.length ? poolNames.join(', ') : '(none defined)';

  const unique = (items: Array<{ name: string }>, section: string) => {
    const seen = new Map<string, number>();
    items.forEach((item, i) => {
      const first = seen.get(item.name);
      if (first !== undefined)
        report([section, i, 'name'], `name "${item.name}" is already used by ${section}[${first}]`);
      else seen.set(item.name, i);
    });
  };
  const listeners = Array.isArray(config.listeners) ? config.listeners : [];
  const routes = Array.isArray(config.routes) ? config.routes : [];
  unique(listeners, 'listeners');
  unique(routes, 'routes');

  const ports = new Map<number, number>();
  listeners.forEach((l, i) => {
    if (typeof l.address !== 'string') return;
    const { port } = splitAddress(l.address);
    if (port > 65535) report(['listeners', i, 'address'], `port ${port} is out of range; expected 0 to 65535`);
    const other = ports.get(port);
    if (other !== undefined && port !== 0)
      report(['listeners', i, 'address'], `port ${port} is already used by listeners[${other}]`);
    else ports.set(port, i);
    const protocols = Array.isArray(l.protocols) ? l.protocols : ['http1'];
    if (l.tls && protocols.includes('h2c'))
      report(['listeners', i, 'protocols'], 'h2c is HTTP/2 without TLS; with tls use "h2" (negotiated by ALPN)');
    if (!l.tls && protocols.includes('h2'))
      report(['listeners', i, 'protocols'], 'h2 needs tls; add a tls section or use "h2c" for cleartext HTTP/2');
    l.tls?.certificates?.forEach((c, j) => {
      for (const field of ['cert', 'key'] as const) {
        if (!existsSync(resolve(baseDir, c[field])))
          report(['listeners', i, 'tls', 'certificates', j, field], `file "${c[field]}" does not exist`);
      }
    });
  });

  routes.forEach((r, i) => {
    if (!(r.pool in pools)) report(['routes', i, 'pool'], `pool "${r.pool}" is not defined; expected one of: ${known}`);
    const path = r.match?.path;
    if (path && typeof path === 'object' && 'regex' in path) {
      try {
        new RE2(path.regex);
      } catch (e) {
        report(['routes', i, 'match', 'path', 'regex'], `not a valid RE2 regex: ${(e as Error).message}`);
      }
    }
  });

  for (const [name, pool] of Object.entries(pools)) {
    if (pool.failover !== undefined) {
      if (!(pool.failover in pools))
        report(['pools', name, 'failover'], `pool "${pool.failover}" is not defined; expected one of: ${known}`);
      else {
        const chain = [name];
        let next: string | undefined = pool.failover;
        while (next !== undefined && next in pools) {
          if (chain.includes(next)) {
            report(['pools', name, 'failover'], `failover chain loops: ${[...chain, next].join(' -> ')}`);
            break;
          }
          chain.push(next);
          next = pools[next]!.failover;
        }
      }
    }
    const range = pool.health?.expect_status;
    if (range?.includes('-')) {
      const [lo, hi] = range.split('-').map(Number) as [number, number];
      if (lo > hi) report(['pools', name, 'health', 'expect_status'], `range "${range}" is empty; write low-high`);
    }
  }

  (Array.isArray(config.trusted_proxies) ? config.trusted_proxies : []).forEach((c, i) => {
    const p = typeof c === 'string' ? parseCidr(c) : null;
    if (typeof p === 'string') report(['trusted_proxies', i], p);
  });
}
