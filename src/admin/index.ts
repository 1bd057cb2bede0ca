/** The admin API: metrics, health, readiness, reload, events, bans. Its own listener, never the data plane's. */
export { AdminServer, type AdminBackend } from './server.js';
export { AdminSchema, type AdminConfig } from './schema.js';
