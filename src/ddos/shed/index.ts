/** Overload shedding: the per-worker guard, the stage that reads it, and their config schema. */
export { shedModule } from './module.js';
export { OverloadGuard, SHED_REASON, STATE_NAMES, type GuardOptions, type Level, type Sample } from './guard.js';
export { ShedStage } from './stage.js';
export { OverloadSchema, RoutePriority, type OverloadConfig } from './schema.js';
export { checkOverload } from './check.js';
export { shedMetrics } from './metrics.js';
