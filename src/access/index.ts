/** The access stage: allow or deny requests by client CIDR, method and path, per route. */
export { accessStage, AccessStage } from './stage.js';
export { AccessSchema, type AccessConfig } from './schema.js';
