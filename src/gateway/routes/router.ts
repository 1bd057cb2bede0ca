/**
 * Route matching: host (exact or "*.example.com"), path (exact, prefix, RE2 regex) and method.
 * Routes are tried in config order and the first match wins, as operators read the file. Each route is
 * compiled into a closure at load; matching a request does no parsing.
 */
import RE2 from 're2';
import type { RouteConfig } from '../schema.js';

export interface RouteMatcher<R> {
  readonly route: R;
  matches(host: string, path: string, method: string): boolean;
}

/** Lowercases and strips the port: "API.Example.com:8443" -> "api.example.com". Keeps IPv6 literals whole. */
export function normaliseHost(host: string | undefined): string {
  if (!host) return '';
  let h = host;
  if (h.startsWith('[')) {
    const close = h.indexOf(']');
    h = close > 0 ? h.slice(0, close + 1) : h;
  } else {
    const colon = h.indexOf(':');
    if (colon >= 0) h = h.slice(0, colon);
  }
  return h.toLowerCase();
}

function hostMatcher(hosts: readonly string[] | undefined): ((host: string) => boolean) | undefined {
  if (!hosts || hosts.length === 0) return undefined;
  const exact = new Set<string>();
  const suffixes: string[] = [];
  for (const h of hosts) {
    const lower = h.toLowerCase();
    // "*.example.com" matches "a.example.com" and "a.b.example.com", not "example.com" (as nginx and Envoy do).
    if (lower.startsWith('*.')) suffixes.push(lower.slice(1));
    else exact.add(lower);
  }
  return (host) => {
    if (exact.has(host)) return true;
    for (const s of suffixes) if (host.length > s.length && host.endsWith(s)) return true;
    return false;
  };
}

function pathMatcher(path: NonNullable<RouteConfig['match']>['path']): ((p: string) => boolean) | undefined {
  if (!path) return undefined;
  if ('exact' in path) {
    const exact = path.exact;
    return (p) => p === exact;
  }
  if ('prefix' in path) {
    const prefix = path.prefix;
    // "/api" matches "/api", "/api/x" and "/api?..." but not "/apix": prefixes are whole segments.
    if (prefix.endsWith('/')) return (p) => p.startsWith(prefix) || p === prefix.slice(0, -1);
    return (p) => p.startsWith(prefix) && (p.length === prefix.length || p.charCodeAt(prefix.length) === 47);
  }
  const re = new RE2(path.regex);
  return (p) => re.test(p);
}

export function compileRoute<R>(config: RouteConfig, route: R): RouteMatcher<R> {
  const host = hostMatcher(config.match?.hosts);
  const path = pathMatcher(config.match?.path);
  const methods = config.match?.methods ? new Set(config.match.methods) : undefined;
  return {
    route,
    matches: (h, p, m) => (!methods || methods.has(m)) && (!host || host(h)) && (!path || path(p)),
  };
}

export class Router<R> {
  constructor(private readonly matchers: ReadonlyArray<RouteMatcher<R>>) {}

  match(host: string, path: string, method: string): R | undefined {
    for (const m of this.matchers) if (m.matches(host, path, method)) return m.route;
    return undefined;
  }
}
