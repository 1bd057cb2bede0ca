/** The gateway: listeners, routes, origin pools and the proxy; the terminal stage of every pipeline. */
export { Gateway } from './gateway.js';
export type { Runtime, RouteRuntime } from './runtime.js';
export { ListenerSchema, PoolSchema, RouteSchema, LimitsSchema } from './schema.js';
