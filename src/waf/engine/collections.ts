/** The multi-valued collections a transaction holds (ARGS, REQUEST_HEADERS...) and the single-valued TX store. */

export interface Entry {
  /** The key as received, used in MATCHED_VAR_NAME. */
  readonly key: string;
  /** Lower-cased key: selectors match case-insensitively. */
  readonly lkey: string;
  readonly value: string;
  /** What rules see of this entry, made once per transaction (see VarValue); set by the resolver. */
  seen?: import('./variables.js').VarValue;
}

export interface ReadableCollection {
  entries(): readonly Entry[];
  /** The entry under one lower-cased key, where the collection keeps one value per key (TX). */
  entry?(lkey: string): Entry | undefined;
}

/** An ordered multimap: a header or argument may repeat, and rules see every value. */
export class Collection implements ReadableCollection {
  private readonly list: Entry[] = [];

  add(key: string, value: string): void {
    this.list.push({ key, lkey: key.toLowerCase(), value });
  }

  entries(): readonly Entry[] {
    return this.list;
  }

  get size(): number {
    return this.list.length;
  }

  first(lkey: string): string | undefined {
    for (const e of this.list) if (e.lkey === lkey) return e.value;
    return undefined;
  }

  /** A collection of the keys, for the *_NAMES variables. */
  names(): Collection {
    const names = new Collection();
    for (const e of this.list) names.add(e.key, e.key);
    return names;
  }
}

/** TX, IP, GLOBAL: one value per key, keys case-insensitive, order of first setting kept. */
export class VariableStore implements ReadableCollection {
  private readonly map = new Map<string, Entry>();
  private cached: Entry[] | undefined;

  get(lkey: string): string | undefined {
    return this.map.get(lkey)?.value;
  }

  entry(lkey: string): Entry | undefined {
    return this.map.get(lkey);
  }

  set(key: string, value: string): void {
    const lkey = key.toLowerCase();
    const prior = this.map.get(lkey);
    this.map.set(lkey, { key: prior?.key ?? key, lkey, value });
    this.cached = undefined;
  }

  delete(key: string): void {
    this.deleteLowerCased(key.toLowerCase());
  }

  deleteLowerCased(lkey: string): void {
    if (this.map.delete(lkey)) this.cached = undefined;
  }

  entries(): readonly Entry[] {
    return (this.cached ??= [...this.map.values()]);
  }
}
