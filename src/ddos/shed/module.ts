/**
 * The shed stage's registry entry. Not listed per route: a top-level `overload` section puts it first on every
 * route, and a route's `priority: protected` keeps it served while only normal traffic is shed. The guard is one
 * object per worker, carried across reloads; it takes a new configuration's thresholds only once that configuration
 * was built whole.
 */
import type { StageModule } from '../../pipeline/index.js';
import { checkOverload } from './check.js';
import { OverloadGuard } from './guard.js';
import { OverloadSchema, RoutePriority, type OverloadConfig } from './schema.js';
import { ShedStage } from './stage.js';

interface ShedNode {
  readonly guard: OverloadGuard;
  readonly config: OverloadConfig | undefined;
}

export const shedModule: StageModule<never, ShedNode> = {
  name: 'shed',
  routeFields: { priority: RoutePriority },
  nodeSchemas: { overload: OverloadSchema },
  check: (ctx) => checkOverload(ctx.sections['overload'] as OverloadConfig | undefined, ctx.report),
  setup: (ctx) => ({
    guard: ctx.previous?.guard ?? new OverloadGuard(),
    config: ctx.sections['overload'] as OverloadConfig | undefined,
  }),
  create: (route, node) =>
    node.config ? new ShedStage(node.guard, route.name, route.fields['priority'] === 'protected') : undefined,
  commit: (node) => node.guard.configure(node.config),
  retire: (node, next) => (next === undefined ? node.guard.close() : undefined),
};
