/** The geo stage's registry entry: its schema, the database check, and the stage per route. */
import { routeStageModule } from '../../pipeline/index.js';
import { checkGeo } from './check.js';
import { GeoSchema, type GeoConfig } from './schema.js';
import { GeoStage } from './stage.js';

export const geoModule = routeStageModule<GeoConfig>({
  name: 'geo',
  routeSchema: GeoSchema,
  check: (config, at, ctx) => checkGeo(config, at, ctx.baseDir, ctx.report),
  create: (config, deps) => new GeoStage(config, deps.routeName, deps.baseDir),
});
