/** Checks of a route's geo stage that the schema cannot express, reported at the offending node. */
import { existsSync } from 'node:fs';
import { resolve } from 'node:path';
import type { GeoConfig } from './schema.js';

type Report = (path: Array<string | number>, message: string) => void;

export function checkGeo(geo: GeoConfig | undefined, at: Array<string | number>, baseDir: string, report: Report) {
  if (!geo || typeof geo !== 'object') return;
  if (geo.allow === undefined && geo.deny === undefined) report(at, 'names no country; set allow, deny or both');
  if (typeof geo.database === 'string' && !existsSync(resolve(baseDir, geo.database)))
    report([...at, 'database'], `file "${geo.database}" does not exist`);
}
