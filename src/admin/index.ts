/** The admin API: metrics, health, readiness, reload. Its own listener, never the data plane's. */
export { AdminServer, type AdminBackend } from './server.js';
