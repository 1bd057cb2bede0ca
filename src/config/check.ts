/**
 * Checks the schema cannot express: references between sections, unique names, addresses that collide,
 * CIDRs and regexes that must compile. Each problem points at the offending node.
 */
import { existsSync } from 'node:fs';
import { resolve } from 'node:path';
import RE2 from 're2';
import { parseCidr } from '../lib/ip.js';
import { checkGeo, checkOverload } from '../ddos/index.js';
import type { Config } from './schema.js';
import type { ConfigProblem } from './errors.js';
import { formatPath } from './errors.js';
import { positionOf, type ParsedYaml } from './yaml.js';

export function splitAddress(address: string): { host: string; port: number } {
  const i = address.lastIndexOf(':');
  const host = address.slice(0, i).replace(/^\[|\]$/g, '');
  return { host, port: Number(address.slice(i + 1)) };
}

export function checkConfig(config: Config, parsed: ParsedYaml, file: string, baseDir: string): ConfigProblem[] {
  const problems: ConfigProblem[] = [];
  const report = (path: Array<string | number>, message: string) => {
    const pos = positionOf(parsed, path);
    problems.push({ file, line: pos.line, col: pos.col, path: formatPath(path), message });
  };

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

  const admin = config.admin?.address ?? '127.0.0.1:9901';
  const adminPort = splitAddress(admin).port;
  const clash = ports.get(adminPort);
  if (clash !== undefined && adminPort !== 0)
    report(['admin', 'address'], `the admin API must not share port ${adminPort} with listeners[${clash}]`);

  checkRateLimitScopes(config.ratelimit?.rules, ['ratelimit', 'rules'], config, report);
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
    const lists = r.stages?.lists;
    for (const list of ['allow', 'deny'] as const) {
      (Array.isArray(lists?.[list]) ? lists[list] : []).forEach((c, k) => {
        const parsedCidr = typeof c === 'string' ? parseCidr(c) : null;
        if (typeof parsedCidr === 'string') report(['routes', i, 'stages', 'lists', list, k], parsedCidr);
      });
      const files = lists?.[`${list}_files`];
      (Array.isArray(files) ? files : []).forEach((f, k) => {
        if (typeof f === 'string' && !existsSync(resolve(baseDir, f)))
          report(['routes', i, 'stages', 'lists', `${list}_files`, k], `file "${f}" does not exist`);
      });
    }
    checkRateLimitScopes(r.stages?.ratelimit?.rules, ['routes', i, 'stages', 'ratelimit', 'rules'], config, report);
    checkGeo(r.stages?.geo, ['routes', i, 'stages', 'geo'], baseDir, report);
    r.stages?.access?.rules?.forEach((rule, j) =>
      (Array.isArray(rule.cidrs) ? rule.cidrs : []).forEach((c, k) => {
        const parsedCidr = typeof c === 'string' ? parseCidr(c) : null;
        if (typeof parsedCidr === 'string')
          report(['routes', i, 'stages', 'access', 'rules', j, 'cidrs', k], parsedCidr);
      }),
    );
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
  checkOverload(config.overload, report);
  return problems;
}

/** `scope: cluster` needs Redis, and shares a rate only (quotas are per node). */
function checkRateLimitScopes(
  rules: Config['routes'][number]['stages'] extends infer S
    ? S extends { ratelimit?: { rules: infer R } }
      ? R | undefined
      : never
    : never,
  at: Array<string | number>,
  config: Config,
  report: (path: Array<string | number>, message: string) => void,
): void {
  rules?.forEach((rule, j) => {
    if (rule.scope === 'cluster' && config.cluster?.redis === undefined)
      report(
        [...at, j, 'scope'],
        'scope "cluster" shares the limit through Redis; add cluster.redis (url) at the top level, or use "node"',
      );
    if (rule.scope === 'cluster' && rule.quota !== undefined)
      report(
        [...at, j, 'quota'],
        'quotas are counted per node; a "cluster" rule shares a rate only: put the quota in a rule of its own',
      );
  });
}
