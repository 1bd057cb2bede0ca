/**
 * The geo stage: the client address is looked up in a MaxMind DB country database; a country outside `allow` or
 * inside `deny` gets 403 `geo:denied`, as does an address with no country when `unknown: deny`. A lookup walks at
 * most 128 tree nodes and reads a decoded record from the database's cache.
 */
import { resolve } from 'node:path';
import { BulwarkError } from '../../errors.js';
import { CONTINUE, type Exchange, type Stage, type Verdict } from '../../pipeline/index.js';
import { geoMetrics } from './metrics.js';
import { acquireGeoDatabase, releaseGeoDatabase, type WatchedGeoDatabase } from './database.js';
import type { GeoConfig } from './schema.js';

const DENIED: Verdict = Object.freeze({
  kind: 'end',
  status: 403,
  reason: 'geo:denied',
  detail: 'Requests from this country are not accepted.',
});

const UNKNOWN_DENIED: Verdict = Object.freeze({
  kind: 'end',
  status: 403,
  reason: 'geo:denied',
  detail: 'The country of the client address is unknown, and such requests are not accepted.',
});

const ISO = /^[A-Z]{2}$/;

export class GeoStage implements Stage {
  readonly name = 'geo';
  private readonly db: WatchedGeoDatabase;
  private readonly allow?: ReadonlySet<string>;
  private readonly deny: ReadonlySet<string>;
  private readonly unknownDenied: boolean;
  /** Counter children by decision and country (a label: at most ~250 codes plus "unknown" and "other"). */
  private readonly counters = new Map<string, { inc(): void }>();

  constructor(
    config: GeoConfig,
    private readonly route: string,
    baseDir: string,
  ) {
    const path = resolve(baseDir, config.database);
    const db = acquireGeoDatabase(path);
    if (typeof db === 'string') {
      throw new BulwarkError(
        'BWK_ERR_GEO_DATABASE',
        `route "${route}": stages.geo.database "${path}" is not a usable MaxMind DB file: ${db}`,
      );
    }
    this.db = db;
    this.allow = config.allow ? new Set(config.allow) : undefined;
    this.deny = new Set(config.deny ?? []);
    this.unknownDenied = config.unknown === 'deny';
  }

  onRequestHeaders(x: Exchange): Verdict {
    const iso = this.db.current.country(x.client.address);
    if (iso === undefined) {
      this.count(this.unknownDenied ? 'denied' : 'allowed', 'unknown');
      return this.unknownDenied ? UNKNOWN_DENIED : CONTINUE;
    }
    const denied = (this.allow !== undefined && !this.allow.has(iso)) || this.deny.has(iso);
    this.count(denied ? 'denied' : 'allowed', iso);
    if (!denied) return CONTINUE;
    x.annotations['geo_country'] = iso;
    return DENIED;
  }

  close(): void {
    releaseGeoDatabase(this.db);
  }

  private count(decision: 'allowed' | 'denied', country: string): void {
    const label = ISO.test(country) || country === 'unknown' ? country : 'other';
    const key = decision + label;
    let c = this.counters.get(key);
    if (!c) this.counters.set(key, (c = geoMetrics.decisions.labels(this.route, decision, label)));
    c.inc();
  }
}
