/** Geo rules: allow or deny by client country from a MaxMind DB file. */
export { geoModule } from './module.js';
export { GeoStage } from './stage.js';
export { GeoDatabase, loadGeoDatabase, parseGeoDatabase } from './database.js';
export { GeoSchema, type GeoConfig } from './schema.js';
export { checkGeo } from './check.js';
