/**
 * The stage registry: every stage, in the order a request meets them (like CoreDNS's plugin.cfg). A stage feels the
 * effects of those before it and must not care about those after; the cheapest refusals come first, so that a
 * refused request costs little. A route lists which stages it runs; it cannot change their order. Response hooks
 * run in reverse.
 *
 * Each line is a capability's module (its index.ts exports it): the config schema under `routes[].stages`, the
 * top-level sections it owns, its load-time checks and its factory all come from it. Adding a capability is its
 * folder plus one line here (docs/stages.md).
 */
import { accessModule } from './access/index.js';
import { clusterProvider } from './cluster/index.js';
import { bansModule, challengeModule, geoModule, listsModule, rateLimitModule, shedModule } from './ddos/index.js';
import type { PortProvider, StageModule } from './pipeline/index.js';
import { wafModule } from './waf/index.js';

/** A module of any config and state: each is typed by its own, and the registry holds them side by side. */
// eslint-disable-next-line @typescript-eslint/no-explicit-any
export type AnyStageModule = StageModule<any, any>;

const BUILT_IN: readonly AnyStageModule[] = [
  // Overload shedding: one integer compare while calm; an overloaded worker spends nothing else on a request.
  shedModule,
  // Banned clients (admin or automatic): one hash probe per prefix length, so even before the lists.
  bansModule,
  // IP allow and deny lists: one hash probe per prefix length, before anything that costs more.
  listsModule,
  // Country from a MaxMind DB: a walk of at most 128 tree nodes, so after the one hash probe of lists.
  geoModule,
  // Allow or deny by client CIDR, method and path: a table lookup, no body.
  accessModule,
  // GCRA buckets and quotas per key: a map lookup per rule, before anything reads a body.
  rateLimitModule,
  // Proof-of-work cookie check (one HMAC): after ratelimit, so a flood of page requests is throttled first.
  challengeModule,
  // SecLang rules (CRS): the most expensive stage, so the last to see a request.
  wafModule,
];

const stages: AnyStageModule[] = [...BUILT_IN];
let version = 0;

/** The registered stages, in order. */
export function registeredStages(): readonly AnyStageModule[] {
  return stages;
}

/** Changes each time a stage is registered or removed: the config schema is recomposed when it does. */
export function registryVersion(): number {
  return version;
}

/**
 * Adds a stage from outside this file (a program embedding Bulwark, a test) at a named place, as one more line in
 * the list above would. Configurations loaded afterwards validate its config and build it; running ones are not
 * touched until reloaded. Returns the function that removes it again.
 */
export function registerStage(module: AnyStageModule, place: { before: string } | { after: string }): () => void {
  if (stages.some((m) => m.name === module.name))
    throw new Error(`stage registry: a stage named "${module.name}" is already registered`);
  const anchor = 'before' in place ? place.before : place.after;
  const at = stages.findIndex((m) => m.name === anchor);
  if (at < 0) throw new Error(`stage registry: no stage named "${anchor}" to register "${module.name}" next to`);
  stages.splice('before' in place ? at : at + 1, 0, module);
  version++;
  return () => {
    const i = stages.indexOf(module);
    if (i >= 0) {
      stages.splice(i, 1);
      version++;
    }
  };
}

/** Modules that offer services (ports) to stages instead of running one. */
export const PROVIDERS: readonly PortProvider[] = [
  // Redis: rate limits shared between nodes (the ratelimit stage's SHARED_RATE_LIMITS).
  clusterProvider,
];
