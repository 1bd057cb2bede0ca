/**
 * The access stage: allow or deny by client CIDR, method and path prefix. Rules are compiled at load into
 * IpSets, method sets and prefix lists; a request costs a few lookups and no allocation.
 */
import { CONTINUE, type Exchange, type Stage, type Verdict } from '../pipeline/index.js';
import { IpSet, parseCidr, type Cidr } from '../lib/ip.js';
import type { AccessConfig, AccessRule } from './schema.js';

interface CompiledRule {
  readonly allow: boolean;
  readonly cidrs?: IpSet;
  readonly methods?: ReadonlySet<string>;
  readonly paths?: readonly string[];
}

function compileRule(rule: AccessRule): CompiledRule {
  let cidrs: IpSet | undefined;
  if (rule.cidrs) {
    // The config check has already refused malformed CIDRs; parse errors here would be a bug.
    cidrs = new IpSet(rule.cidrs.map((c) => parseCidr(c)).filter((c): c is Cidr => typeof c !== 'string'));
  }
  return {
    allow: rule.action === 'allow',
    cidrs,
    methods: rule.methods ? new Set(rule.methods) : undefined,
    paths: rule.paths,
  };
}

function pathMatches(prefixes: readonly string[], path: string): boolean {
  for (const p of prefixes) {
    if (path.startsWith(p) && (path.length === p.length || p.endsWith('/') || path.charCodeAt(p.length) === 47))
      return true;
  }
  return false;
}

const DENIED: Verdict = Object.freeze({
  kind: 'end',
  status: 403,
  reason: 'access:denied',
  detail: 'The access policy of this route does not allow this request.',
});

export class AccessStage implements Stage {
  readonly name = 'access';
  private readonly rules: readonly CompiledRule[];
  private readonly allowByDefault: boolean;

  constructor(config: AccessConfig) {
    this.rules = config.rules.map(compileRule);
    this.allowByDefault = (config.default ?? 'allow') === 'allow';
  }

  onRequestHeaders(x: Exchange): Verdict {
    const { method, path } = x.request;
    for (const r of this.rules) {
      if (r.methods && !r.methods.has(method)) continue;
      if (r.paths && !pathMatches(r.paths, path)) continue;
      if (r.cidrs && !r.cidrs.has(x.client.address)) continue;
      return r.allow ? CONTINUE : DENIED;
    }
    return this.allowByDefault ? CONTINUE : DENIED;
  }
}
