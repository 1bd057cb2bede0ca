/** The access stage: allow or deny requests by client CIDR, method and path, per route. */
export { accessModule } from './module.js';
export { AccessStage } from './stage.js';
export { AccessSchema, type AccessConfig } from './schema.js';
