/**
 * A Runtime is one configuration made ready to serve: compiled router, pipelines per route, origin pools,
 * limits. A reload builds a new Runtime and swaps one reference; requests in flight keep the Runtime they
 * started with. Pools whose config did not change are carried over, with their health state and connections.
 */
import { isDeepStrictEqual } from 'node:util';
import type { LoadedConfig } from '../config/index.js';
import { toBytes, toMs } from '../config/index.js';
import { accessStage } from '../access/index.js';
import { clusterServices, type ClusterServices } from '../cluster/index.js';
import {
  BansStage,
  BanTable,
  challengeStage,
  createShedStage,
  geoStage,
  listsStage,
  OverloadGuard,
  rateLimitStage,
  RateLimitStage,
} from '../ddos/index.js';
import { createWafStage, inspectRefused, loadWaf, type RefusedRequest, type Waf } from '../waf/index.js';
import { BulwarkError } from '../errors.js';
import { Pipeline, STAGE_ORDER, type Stage, type StageFactory } from '../pipeline/index.js';
import { IpSet, parseCidr, type Cidr } from '../lib/ip.js';
import { createAccessLogger, log, metrics, setEventCapacity, type AccessLog } from '../observability/index.js';
import { createPools, type OriginPool, type PoolEvents } from './origins/index.js';
import { compileHeaderEdits, type HeaderEdits } from './proxy/headers.js';
import { compileRoute, Router } from './routes/router.js';
import type { PoolConfig, RouteConfig } from './schema.js';

export interface RouteRuntime {
  readonly name: string;
  readonly pool: OriginPool;
  readonly pipeline: Pipeline;
  readonly connectTimeoutMs: number;
  readonly firstByteTimeoutMs: number;
  readonly idleTimeoutMs: number;
  readonly bodyLimit: number;
  readonly requestEdits?: HeaderEdits;
  readonly responseEdits?: HeaderEdits;
  readonly countByStatus: Map<number, { inc(): void }>;
  readonly duration: { observe(seconds: number): void };
}

export interface Runtime {
  readonly generation: number;
  readonly pipelines: readonly Pipeline[];
  readonly loaded: LoadedConfig;
  readonly router: Router<RouteRuntime>;
  readonly pools: Map<string, OriginPool>;
  readonly poolConfigs: Map<string, PoolConfig>;
  readonly trusted: IpSet;
  readonly uriBytes: number;
  readonly headerBytes: number;
  readonly accessLog?: AccessLog;
  readonly accessFields?: ReadonlySet<string>;
  /** Lets the WAF read a request the gateway refused before routing (for the security event). */
  readonly inspectRefused?: (r: RefusedRequest) => void;
  /** The node's ban table: the same object across reloads. */
  readonly bans: BanTable;
  inflight: number;
  /** Overload shedding of this gateway; one object carried across reloads, idle when `overload` is absent. */
  readonly overload: OverloadGuard;
}

/** Stage factories by name. The pipeline's order comes from STAGE_ORDER, not from this table. */
const FACTORIES = {
  lists: listsStage,
  geo: geoStage,
  access: accessStage,
  ratelimit: rateLimitStage,
  challenge: challengeStage,
} as const;

const UNDER_ATTACK_ONLY = { mode: 'under_attack' } as const;

/** Process-wide things the stages of every route share; they outlive a reload. */
interface SharedState {
  readonly bans: BanTable;
  readonly cluster: ClusterServices | undefined;
  /** Set when the config has an `overload` section. */
  readonly overload: OverloadGuard | undefined;
  /** The top-level `ratelimit` rules: one stage, so one set of counters, on every route. */
  readonly globalRateLimit: Stage | undefined;
}

function buildStages(route: RouteConfig, baseDir: string, waf: Waf | undefined, shared: SharedState): Stage[] {
  const stages: Stage[] = [];
  for (const name of STAGE_ORDER) {
    if (name === 'shed') {
      // Not listed per route: a top-level `overload` section puts it first on every route.
      if (shared.overload) stages.push(createShedStage(shared.overload, route.name, route.priority === 'protected'));
      continue;
    }
    if (name === 'bans') {
      // Every route refuses banned clients unless it says `enforce: false`: a ban holds for the whole node.
      stages.push(new BansStage(shared.bans, route.stages?.bans ?? {}, route.name));
      continue;
    }
    // Global rules come first: a client over a node-wide limit costs no route rule a lookup.
    if (name === 'ratelimit' && shared.globalRateLimit) stages.push(shared.globalRateLimit);
    // Every route carries a challenge stage that wakes up in under-attack mode, unless its config says never.
    const config = name === 'challenge' ? (route.stages?.challenge ?? UNDER_ATTACK_ONLY) : route.stages?.[name];
    if (config === undefined || (name === 'challenge' && route.stages?.challenge?.mode === 'never')) continue;
    if (name === 'waf') {
      // The engine is shared by all routes (CRS loads once); the route brings its profile.
      stages.push(createWafStage(waf!, route.stages?.waf, route.name));
      continue;
    }
    const factory = FACTORIES[name] as StageFactory<typeof config>;
    stages.push(factory.create(config, { routeName: route.name, baseDir, cluster: shared.cluster }));
  }
  return stages;
}

/** Loads the WAF engine when a route uses it; a rule set that does not compile refuses the whole config. */
function wafFor(loaded: LoadedConfig): Waf | undefined {
  const { config } = loaded;
  setEventCapacity(config.waf?.events?.keep ?? 1000);
  if (!config.routes.some((r) => r.stages?.waf !== undefined)) return undefined;
  const r = loadWaf(config.waf, loaded.baseDir);
  if (!r.ok) {
    throw new BulwarkError('BWK_ERR_WAF_RULES', `WAF rules refused:\n  ${r.problems.slice(0, 50).join('\n  ')}`);
  }
  for (const w of r.waf.ruleSet.warnings) log().warn({ warning: w }, 'waf rule set');
  return r.waf;
}

let generations = 0;

/** Origin state changes go to the log and the origin_healthy gauge; retries to their counter. */
const POOL_EVENTS: PoolEvents = {
  onStateChange(origin, state, detail) {
    const up = state === 'healthy' ? 1 : 0;
    metrics.originHealthy.labels(origin.pool, origin.url, origin.zone).set(up);
    if (state === 'ejected') {
      const until = origin.ejectedUntil;
      // The gauge returns to 1 when the ejection ends, unless health checks say otherwise by then.
      setTimeout(() => {
        if (origin.ejectedUntil === until && origin.healthy)
          metrics.originHealthy.labels(origin.pool, origin.url, origin.zone).set(1);
      }, detail?.ejectedForMs ?? 0).unref();
    }
    log().warn({ pool: origin.pool, origin: origin.url, zone: origin.zone, state, ...detail }, 'origin state');
  },
  onRetry(pool, cause) {
    metrics.upstreamRetries.labels(pool, cause).inc();
  },
};

export function buildRuntime(loaded: LoadedConfig, previous?: Runtime, bans?: BanTable): Runtime {
  const { config } = loaded;
  const banTable = bans ?? previous?.bans ?? new BanTable();
  banTable.setMaxEntries(config.bans?.max_entries);
  // Reuse pools whose config is unchanged; build the rest.
  const reused = new Map<string, OriginPool>();
  for (const [name, pc] of Object.entries(config.pools)) {
    const old = previous?.pools.get(name);
    if (old && isDeepStrictEqual(previous?.poolConfigs.get(name), pc)) reused.set(name, old);
  }
  const pools = createPools(config.pools, { reuse: reused, events: POOL_EVENTS });
  for (const [name, pool] of pools) {
    if (reused.has(name)) continue;
    for (const o of pool.origins) metrics.originHealthy.labels(name, o.url, o.zone).set(1);
  }

  const waf = wafFor(loaded);
  const cluster = config.cluster ? clusterServices(config.cluster.redis) : undefined;
  const overload = previous?.overload ?? new OverloadGuard();
  const shared: SharedState = {
    bans: banTable,
    cluster,
    overload: config.overload ? overload : undefined,
    globalRateLimit: config.ratelimit ? new RateLimitStage(config.ratelimit, '*', cluster) : undefined,
  };
  const routes = config.routes.map((rc) => {
    const pool = pools.get(rc.pool)!;
    const pipeline = new Pipeline(buildStages(rc, loaded.baseDir, waf, shared), ({ stage, error, requestId }) =>
      log().error({ err: error, stage, route: rc.name, id: requestId }, 'stage failed'),
    );
    const route: RouteRuntime = {
      name: rc.name,
      pool,
      pipeline,
      connectTimeoutMs: toMs(rc.timeouts?.connect ?? '5s'),
      firstByteTimeoutMs: toMs(rc.timeouts?.first_byte ?? '30s'),
      idleTimeoutMs: toMs(rc.timeouts?.idle ?? '60s'),
      bodyLimit: toBytes(rc.limits?.body ?? '10MiB'),
      requestEdits: compileHeaderEdits(rc.headers?.request),
      responseEdits: compileHeaderEdits(rc.headers?.response),
      countByStatus: new Map(),
      duration: metrics.duration.labels(rc.name),
    };
    return compileRoute(rc, route);
  });

  const trusted = new IpSet(
    (config.trusted_proxies ?? []).map((c) => parseCidr(c)).filter((c): c is Cidr => typeof c !== 'string'),
  );
  const fields = config.log?.access?.fields;
  // Last, after everything that can throw: a refused configuration leaves the running thresholds alone.
  overload.configure(config.overload);
  return {
    generation: ++generations,
    pipelines: routes.map((r) => r.route.pipeline),
    loaded,
    router: new Router(routes),
    pools,
    poolConfigs: new Map(Object.entries(config.pools)),
    trusted,
    uriBytes: toBytes(config.limits?.uri_bytes ?? '8KiB'),
    headerBytes: toBytes(config.limits?.header_bytes ?? '16KiB'),
    accessLog: previous?.accessLog ?? createAccessLogger(config.log),
    accessFields: fields ? new Set(fields) : undefined,
    inspectRefused: waf ? (r) => inspectRefused(waf, r) : undefined,
    bans: banTable,
    inflight: 0,
    overload,
  };
}

/** Pools of `old` that `next` does not carry over are closed once `old` has no request in flight. */
export function retireRuntime(old: Runtime, next: Runtime | undefined, deadlineMs: number): Promise<void> {
  if (!next) old.overload.close();
  const keep = new Set(next ? [...next.pools.values()] : []);
  const doomed = [...old.pools.values()].filter((p) => !keep.has(p));
  const started = Date.now();
  return new Promise((resolve) => {
    const check = () => {
      if (old.inflight === 0 || Date.now() - started > deadlineMs) {
        for (const p of old.pipelines) p.close();
        void Promise.allSettled(doomed.map((p) => p.close())).then(() => resolve());
      } else setTimeout(check, 50).unref();
    };
    check();
  });
}
