/**
 * The lists stage: client addresses on the allow list pass (and skip the deny list); those on the deny list get
 * 403. Entries come from the config and from list files, which are re-read when they change; a bad line is
 * logged with file:line and skipped. Lookups cost one hash probe per distinct prefix length, whatever the size.
 */
import { readFileSync, unwatchFile, watchFile, type Stats } from 'node:fs';
import { resolve } from 'node:path';
import { CONTINUE, type Exchange, type Stage, type Verdict } from '../../pipeline/index.js';
import { IpSet, parseCidr, type Cidr } from '../../lib/ip.js';
import { log } from '../../observability/index.js';
import { listsMetrics } from './metrics.js';
import type { ListsConfig } from './schema.js';
import { parseList } from './list-file.js';

const DENIED: Verdict = Object.freeze({
  kind: 'end',
  status: 403,
  reason: 'lists:denied',
  detail: 'The client address is on a deny list.',
});

/** One list (allow or deny): config entries plus files, rebuilt whole when a file changes. */
class WatchedList {
  set: IpSet;
  private readonly watched: string[] = [];

  constructor(
    private readonly name: string,
    private readonly inline: readonly Cidr[],
    private readonly files: readonly string[],
    private readonly route: string,
  ) {
    this.set = this.build();
    for (const file of files) {
      const onChange = (now: Stats, before: Stats) => {
        if (now.mtimeMs !== before.mtimeMs || now.size !== before.size) this.set = this.build();
      };
      watchFile(file, { interval: 1000, persistent: false }, onChange);
      this.watched.push(file);
    }
  }

  private build(): IpSet {
    const set = new IpSet(this.inline);
    for (const file of this.files) {
      let text: string;
      try {
        text = readFileSync(file, 'utf8');
      } catch (e) {
        log().warn({ route: this.route, list: this.name, file, err: (e as Error).message }, 'list file unreadable');
        continue;
      }
      const { cidrs, problems } = parseList(text);
      for (const c of cidrs) set.add(c);
      for (const p of problems)
        log().warn({ route: this.route, list: this.name }, `${file}:${p.line}: ${p.message}; line skipped`);
    }
    listsMetrics.entries.labels(this.route, this.name).set(set.size);
    return set;
  }

  close(): void {
    for (const file of this.watched) unwatchFile(file);
  }
}

function inlineCidrs(entries: readonly string[] | undefined): Cidr[] {
  // The config check has already refused malformed entries.
  return (entries ?? []).map((e) => parseCidr(e)).filter((c): c is Cidr => typeof c !== 'string');
}

export class ListsStage implements Stage {
  readonly name = 'lists';
  private readonly allow: WatchedList;
  private readonly deny: WatchedList;
  private readonly allowed: { inc(): void };
  private readonly denied: { inc(): void };

  constructor(config: ListsConfig, route: string, baseDir: string) {
    const files = (list: string[] | undefined) => (list ?? []).map((f) => resolve(baseDir, f));
    this.allow = new WatchedList('allow', inlineCidrs(config.allow), files(config.allow_files), route);
    this.deny = new WatchedList('deny', inlineCidrs(config.deny), files(config.deny_files), route);
    this.allowed = listsMetrics.decisions.labels(route, 'allow');
    this.denied = listsMetrics.decisions.labels(route, 'deny');
  }

  onRequestHeaders(x: Exchange): Verdict {
    const address = x.client.address;
    if (this.allow.set.size > 0 && this.allow.set.has(address)) {
      this.allowed.inc();
      x.annotations['lists'] = 'allow';
      return CONTINUE;
    }
    if (this.deny.set.size > 0 && this.deny.set.has(address)) {
      this.denied.inc();
      return DENIED;
    }
    return CONTINUE;
  }

  close(): void {
    this.allow.close();
    this.deny.close();
  }
}
