/** Checks of the overload section that the schema cannot express, reported at the offending node. */
import { parseCidr } from '../../lib/ip.js';
import { toBytes, toMs } from '../../lib/units.js';
import type { OverloadConfig } from './schema.js';

type Report = (path: ReadonlyArray<string | number>, message: string) => void;

/** A value the schema refused reads as NaN (no comparison holds) instead of throwing away the other checks. */
function safe(unit: (v: string | number) => number, v: unknown): number {
  try {
    return typeof v === 'string' || typeof v === 'number' ? unit(v) : NaN;
  } catch {
    return NaN;
  }
}

export function checkOverload(config: OverloadConfig | undefined, report: Report): void {
  if (!config || typeof config !== 'object') return;
  const signals = [
    ['inflight', Number],
    ['event_loop_delay', toMs],
    ['heap_used', toBytes],
    ['rss', toBytes],
  ] as const;
  let any = false;
  for (const [name, unit] of signals) {
    const t = config[name];
    if (!t || typeof t !== 'object') continue;
    any = true;
    if (t.protected !== undefined && safe(unit, t.protected) < safe(unit, t.normal))
      report(['overload', name, 'protected'], 'must be at least `normal`: protected traffic is shed last');
  }
  if (!any) report(['overload'], 'names no signal; set one of inflight, event_loop_delay, heap_used or rss');
  (Array.isArray(config.protected_clients?.cidrs) ? config.protected_clients.cidrs : []).forEach((c, i) => {
    const p = typeof c === 'string' ? parseCidr(c) : null;
    if (typeof p === 'string') report(['overload', 'protected_clients', 'cidrs', i], p);
  });
}
