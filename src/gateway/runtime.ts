/**
 * A Runtime is one configuration made ready to serve: compiled router, pipelines per route, origin pools,
 * limits. A reload builds a new Runtime and swaps one reference; requests in flight keep the Runtime they
 * started with. Pools whose config did not change are carried over, with their health state and connections.
 */
import { isDeepStrictEqual } from 'node:util';
import type { Config, LoadedConfig } from '../bulwark-config.js';
import { toBytes, toMs } from '../config/index.js';
import { IpSet, parseCidr, type Cidr } from '../lib/ip.js';
import { createAccessLogger, log, metrics, type AccessLog } from '../observability/index.js';
import {
  Pipeline,
  type PortBinding,
  type Ports,
  type RefusedRequest,
  type RouteView,
  type Stage,
} from '../pipeline/index.js';
import { PROVIDERS, registeredStages, type AnyStageModule } from '../stages.js';
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
  /** Lets modules read a request the gateway refused before routing (the WAF's security event). */
  readonly inspectRefused?: (r: RefusedRequest) => void;
  /** Each registered module with the state its setup returned for this configuration, in registry order. */
  readonly modules: readonly ModuleInstance[];
  /** Ports the process bound (e.g. its ban table): kept for the next reload. */
  readonly provided: readonly PortBinding<unknown>[];
  inflight: number;
}

interface ModuleInstance {
  readonly module: AnyStageModule;
  readonly node: unknown;
}

function routeView(rc: RouteConfig, index: number, name: string): RouteView<unknown> {
  return { name: rc.name, index, config: rc.stages?.[name], at: ['routes', index, 'stages', name], fields: rc };
}

function portsOf(bindings: readonly PortBinding<unknown>[]): Ports {
  const byName = new Map(bindings.map((b) => [b.port.name, b.value]));
  return { get: <T>(port: { readonly name: string }) => byName.get(port.name) as T | undefined };
}

/** Every module's setup, in registry order, each handed what it returned for the configuration being replaced. */
function setUpModules(config: Config, baseDir: string, ports: Ports, previous: Runtime | undefined): ModuleInstance[] {
  const routes = config.routes;
  return registeredStages().map((module) => {
    const before = previous?.modules.find((m) => m.module === module)?.node;
    const node = module.setup?.({
      sections: config,
      baseDir,
      routes: routes.map((rc, i) => routeView(rc, i, module.name)),
      previous: before,
      ports,
    });
    return { module, node };
  });
}

function buildStages(
  rc: RouteConfig,
  index: number,
  modules: readonly ModuleInstance[],
  baseDir: string,
  ports: Ports,
) {
  const stages: Stage[] = [];
  for (const { module, node } of modules) {
    const made = module.create(routeView(rc, index, module.name), node, { routeName: rc.name, baseDir, ports });
    if (made === undefined) continue;
    if (Array.isArray(made)) stages.push(...(made as readonly Stage[]));
    else stages.push(made as Stage);
  }
  return stages;
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

/**
 * @param provided ports the process binds (its ban table); kept with the runtime for the next reload
 */
export function buildRuntime(
  loaded: LoadedConfig,
  previous?: Runtime,
  provided: readonly PortBinding<unknown>[] = previous?.provided ?? [],
): Runtime {
  const { config } = loaded;
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

  const context = { sections: config, baseDir: loaded.baseDir };
  const ports = portsOf([...provided, ...PROVIDERS.flatMap((p) => p.provide({ ...context, routes: [] }))]);
  const modules = setUpModules(config, loaded.baseDir, ports, previous);
  const routes = config.routes.map((rc, index) => {
    const pool = pools.get(rc.pool)!;
    const pipeline = new Pipeline(
      buildStages(rc, index, modules, loaded.baseDir, ports),
      ({ stage, error, requestId }) =>
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
  // Last, after everything that can throw: a refused configuration leaves the running state alone.
  for (const { module, node } of modules) module.commit?.(node);
  // Only modules that set up something to inspect with (the WAF when a route runs it): a refused request is an
  // attacker's to shape, and building its view for nobody is wasted work.
  const inspecting = modules.filter((m) => m.module.inspectRefused && m.node !== undefined);
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
    inspectRefused: inspecting.length
      ? (r) => {
          for (const { module, node } of inspecting) module.inspectRefused!(node, r);
        }
      : undefined,
    modules,
    provided,
    inflight: 0,
  };
}

/** Pools of `old` that `next` does not carry over are closed once `old` has no request in flight. */
export function retireRuntime(old: Runtime, next: Runtime | undefined, deadlineMs: number): Promise<void> {
  const keep = new Set(next ? [...next.pools.values()] : []);
  const doomed = [...old.pools.values()].filter((p) => !keep.has(p));
  const started = Date.now();
  return new Promise((resolve) => {
    const check = () => {
      if (old.inflight === 0 || Date.now() - started > deadlineMs) {
        for (const p of old.pipelines) p.close();
        const retiring = old.modules.map(({ module, node }) =>
          module.retire?.(node, next?.modules.find((m) => m.module === module)?.node),
        );
        void Promise.allSettled([...doomed.map((p) => p.close()), ...retiring]).then(() => resolve());
      } else setTimeout(check, 50).unref();
    };
    check();
  });
}
