/** Checks of a route's geo stage that the schema cannot express, reported at the offending node. */
import { existsSync } from 'node:fs';
import { resolve } from 'node:path';
import { loadGeoDatabase } from './database.js';
import type { GeoConfig } from './schema.js';

type Report = (path: ReadonlyArray<string | number>, message: string) => void;

export function checkGeo(
  geo: GeoConfig | undefined,
  at: ReadonlyArray<string | number>,
  baseDir: string,
  report: Report,
) {
  if (!geo || typeof geo !== 'object') return;
  if (geo.allow === undefined && geo.deny === undefined) report(at, 'names no country; set allow, deny or both');
  if (typeof geo.database !== 'string') return;
  const path = resolve(baseDir, geo.database);
  if (!existsSync(path)) return report([...at, 'database'], `file "${geo.database}" does not exist`);
  // Read whole here too, so that the cluster primary refuses a damaged file before any worker builds the stage.
  const db = loadGeoDatabase(path);
  if (typeof db === 'string') report([...at, 'database'], `file "${path}" is not a usable MaxMind DB file: ${db}`);
}
