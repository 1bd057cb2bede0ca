/** The multi-valued collections a transaction holds (ARGS, REQUEST_HEADERS...) and the single-valued TX store. */

export interface Entry {
  /** The key as received, used in MATCHED_VAR_NAME. */
  readonly key: string;
  /** Lower-cased key: selectors match case-insensitively. */
  readonly lkey: string;
  /** Changed in place only by VariableStore.set, which then drops `seen`. */
  value: string;
  /** What rules see of this entry, made once per value (see seenValue in variables.ts). */
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
    this.list.push({ key, lkey: key.toLowerCase(), value, seen: undefined });
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
  /**
   * The entries in order of first setting. CRS sets some 150 TX keys a request, most of them again and again (scores,
   * captures), and reads the whole list through key selectors between the sets: an entry is changed in place and a
   * new key appended, so the list is rebuilt only after a delete.
   */
  private list: Entry[] | undefined = [];

  get(lkey: string): string | undefined {
    return this.map.get(lkey)?.value;
  }

  entry(lkey: string): Entry | undefined {
    return this.map.get(lkey);
  }

  set(key: string, value: string): void {
    const lkey = key.toLowerCase();
    const prior = this.map.get(lkey);
    if (prior !== undefined) {
      if (prior.value !== value) {
        prior.value = value;
        prior.seen = undefined;
      }
      return;
    }
    const e: Entry = { key, lkey, value, seen: undefined };
    this.map.set(lkey, e);
    this.list?.push(e);
  }

  delete(key: string): void {
    this.deleteLowerCased(key.toLowerCase());
  }

  deleteLowerCased(lkey: string): void {
    if (this.map.delete(lkey)) this.list = undefined;
  }

  entries(): readonly Entry[] {
    return (this.list ??= [...this.map.values()]);
  }
}
