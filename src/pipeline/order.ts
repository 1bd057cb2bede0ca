/**
 * The one place where stage order is declared. Like CoreDNS's plugin.cfg: a stage feels the effects of those
 * before it and must not care about those after. Cheapest checks come first so that a refused request costs little.
 * A route lists which of these it runs; it cannot change their order.
 */
export const STAGE_ORDER = [
  'shed', // overload shedding: one integer compare while calm; an overloaded worker spends nothing else on a request
  'bans', // banned clients (admin or automatic): one hash probe per prefix length, so even before the lists
  'lists', // IP allow and deny lists: one hash probe per prefix length, before anything that costs more
  'geo', // country from a MaxMind DB: a walk of at most 128 tree nodes, so after the one hash probe of lists
  'access', // allow or deny by client CIDR, method and path: a table lookup, no body
  'ratelimit', // GCRA buckets per key: a map lookup per rule, before anything reads a body
  'challenge', // proof-of-work cookie check (one HMAC): after ratelimit so a flood of page requests is throttled first, before the WAF's cost
  'waf', // SecLang rules (CRS): the most expensive stage, so the last to see a request
] as const;

export type StageName = (typeof STAGE_ORDER)[number];
