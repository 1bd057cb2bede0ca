/**
 * What a capability hands the stage registry (src/stages.ts): its name, its config schemas, its load-time checks and
 * how it builds its stage for a route. The gateway builds every route's pipeline from the registry alone, so a new
 * capability is its folder plus one registry line. Nothing here names a capability.
 */
import type { TSchema } from '@sinclair/typebox';
import type { Port, Ports } from './ports.js';
import type { Stage, StageDeps } from './stage.js';

/** A path into the configuration document, e.g. `['routes', 2, 'stages', 'lists', 'deny', 0]`. */
export type ConfigPath = ReadonlyArray<string | number>;

/** One route as a module sees it. */
export interface RouteView<R> {
  readonly name: string;
  readonly index: number;
  /** `routes[index].stages.<module>`, or undefined when the route does not list the module. */
  readonly config: R | undefined;
  /** Where `config` sits in the document, for load-time problems: `['routes', index, 'stages', <module>]`. */
  readonly at: ConfigPath;
  /** The whole route: a module reads only the route-level fields it declares in `routeFields`. */
  readonly fields: Readonly<Record<string, unknown>>;
}

interface ConfigView<R> {
  /** The whole configuration: a module reads only the top-level sections it declares in `nodeSchemas`. */
  readonly sections: Readonly<Record<string, unknown>>;
  /** Directory of the config file: relative paths resolve against it. */
  readonly baseDir: string;
  readonly routes: readonly RouteView<R>[];
}

/** Load-time checks see the document even when the schema refused it, so they read it defensively. */
export interface CheckContext<R> extends ConfigView<R> {
  report(path: ConfigPath, message: string): void;
}

export interface SetupContext<R, N> extends ConfigView<R> {
  /** What this module's setup returned for the configuration being replaced: state that outlives a reload. */
  readonly previous: N | undefined;
  readonly ports: Ports;
}

/** A request the gateway refused before routing (unknown method, bad target, bad Host): no pipeline saw it. */
export interface RefusedRequest {
  readonly requestId: string;
  readonly method: string;
  readonly target: string;
  /** `HTTP/1.1`; `HTTP/0.9` when the request line had no version. */
  readonly protocol: string;
  readonly headers: readonly (readonly [string, string])[];
  readonly client: string;
  /** The status the gateway answered with. */
  readonly status: number;
  readonly reason: string;
}

/**
 * A capability's entry in the registry. R is its per-route config, N the state it keeps per configuration (shared
 * tables, engines, guards) that every route's stage uses. Everything costly happens in `setup` and `create`.
 */
export interface StageModule<R = unknown, N = unknown> {
  /** The stage's name: its key under `routes[].stages`, and its label in logs, metrics and verdict reasons. */
  readonly name: string;
  /** Schema of `routes[].stages.<name>`; absent when a route cannot configure it. */
  readonly routeSchema?: TSchema;
  /** Route-level fields the module owns (e.g. shedding's `priority`). */
  readonly routeFields?: Readonly<Record<string, TSchema>>;
  /** Top-level config sections the module owns, by key. */
  readonly nodeSchemas?: Readonly<Record<string, TSchema>>;
  /** Checks the schema cannot express (CIDRs that parse, files that exist); each problem names its path. */
  check?(ctx: CheckContext<R>): void;
  /** Once per configuration, before any route's stage: the state the routes share. May throw to refuse it. */
  setup?(ctx: SetupContext<R, N>): N;
  /** The route's stages (usually one), or none when the route does not run this module. */
  create(route: RouteView<R>, node: N, deps: StageDeps): Stage | readonly Stage[] | undefined;
  /** Reads a request the gateway refused before routing (the WAF's security event for it). */
  inspectRefused?(node: N, request: RefusedRequest): void;
  /**
   * The configuration `node` belongs to is about to serve: called once every module's setup and every route built,
   * so a refused configuration changes nothing that is running.
   */
  commit?(node: N): void;
  /** The configuration `node` belongs to is retired; `next` is the state that replaces it (undefined at shutdown). */
  retire?(node: N, next: N | undefined): void | Promise<void>;
}

/** A module that provides ports (services) rather than a stage, e.g. the cluster's Redis-backed limits. */
export interface PortProvider {
  readonly name: string;
  readonly nodeSchemas?: Readonly<Record<string, TSchema>>;
  /** Checks of its sections, as a stage module's `check`. */
  check?(ctx: CheckContext<unknown>): void;
  /** The ports it binds for this configuration; none when its section is absent. */
  provide(ctx: ConfigView<unknown>): ReadonlyArray<PortBinding<unknown>>;
}

export interface PortBinding<T> {
  readonly port: Port<T>;
  readonly value: T;
}

export function bind<T>(port: Port<T>, value: T): PortBinding<unknown> {
  return { port, value } as PortBinding<unknown>;
}

/**
 * The module of a stage that runs on the routes that list it and shares nothing between routes: most stages.
 * `check` sees one route's config (defensively: the schema may have refused it).
 */
export function routeStageModule<R>(spec: {
  readonly name: string;
  readonly routeSchema: TSchema;
  readonly check?: (config: R, at: ConfigPath, ctx: CheckContext<R>) => void;
  readonly create: (config: R, deps: StageDeps) => Stage;
}): StageModule<R, undefined> {
  const check = spec.check;
  return {
    name: spec.name,
    routeSchema: spec.routeSchema,
    check: check
      ? (ctx) => {
          for (const r of ctx.routes) if (r.config !== undefined && r.config !== null) check(r.config, r.at, ctx);
        }
      : undefined,
    create: (route, _node, deps) => (route.config === undefined ? undefined : spec.create(route.config, deps)),
  };
}
