/**
 * The bans state file: bans in force and recent strikes as JSON, so that a node restarted without Redis keeps
 * them. Written a moment after a change (changes in a burst make one write), to a temporary file renamed over the
 * old one, so a crash mid-write leaves the previous file whole. Read at start; expired bans and anything
 * malformed are dropped, never fatal.
 */
import { readFileSync, renameSync, writeFileSync } from 'node:fs';
import { rm, writeFile } from 'node:fs/promises';
import { log } from '../../observability/index.js';
import type { Ban } from './types.js';

export interface StrikeRecord {
  readonly target: string;
  readonly strikes: number;
  /** Epoch ms of the last automatic ban. */
  readonly at: number;
}

export interface BanState {
  readonly bans: Ban[];
  readonly strikes: StrikeRecord[];
}

const VERSION = 1;
const DEBOUNCE_MS = 200;

function isBan(v: unknown): v is Ban {
  const b = v as Partial<Ban> | null;
  return (
    typeof b === 'object' &&
    b !== null &&
    typeof b.target === 'string' &&
    typeof b.until === 'number' &&
    typeof b.reason === 'string' &&
    (b.source === 'manual' || b.source === 'auto') &&
    typeof b.strikes === 'number' &&
    (b.node === undefined || typeof b.node === 'string')
  );
}

function isStrike(v: unknown): v is StrikeRecord {
  const s = v as Partial<StrikeRecord> | null;
  return (
    typeof s === 'object' &&
    s !== null &&
    typeof s.target === 'string' &&
    typeof s.strikes === 'number' &&
    typeof s.at === 'number'
  );
}

/** What the file holds now, expired bans left out. A missing file is an empty state, not a problem. */
export function readStateFile(path: string, now: number): BanState & { problem?: string } {
  let text: string;
  try {
    text = readFileSync(path, 'utf8');
  } catch (e) {
    const code = (e as NodeJS.ErrnoException).code;
    return { bans: [], strikes: [], problem: code === 'ENOENT' ? undefined : (e as Error).message };
  }
  let parsed: unknown;
  try {
    parsed = JSON.parse(text);
  } catch (e) {
    return { bans: [], strikes: [], problem: `not JSON: ${(e as Error).message}` };
  }
  const p = parsed as { version?: unknown; bans?: unknown; strikes?: unknown } | null;
  if (typeof p !== 'object' || p === null || p.version !== VERSION || !Array.isArray(p.bans))
    return { bans: [], strikes: [], problem: `expected { "version": ${VERSION}, "bans": [...] }` };
  const bans = p.bans.filter(isBan).filter((b) => b.until > now);
  const strikes = Array.isArray(p.strikes) ? p.strikes.filter(isStrike) : [];
  const dropped = p.bans.length - p.bans.filter(isBan).length;
  return { bans, strikes, problem: dropped > 0 ? `${dropped} malformed entries skipped` : undefined };
}

function serialise(state: BanState): string {
  return JSON.stringify({ version: VERSION, saved_at: new Date().toISOString(), ...state });
}

/** Debounced, atomic, one write at a time. */
export class StateFileWriter {
  private timer?: NodeJS.Timeout;
  private writing?: Promise<void>;
  private dirty = false;
  /** Bumped by every write, so that an async write overtaken by a shutdown flush does not rename an older state. */
  private generation = 0;
  private readonly temp: string;

  constructor(
    readonly path: string,
    private readonly snapshot: () => BanState,
  ) {
    this.temp = `${path}.${process.pid}.tmp`;
  }

  schedule(): void {
    this.dirty = true;
    if (this.timer || this.writing) return;
    this.timer = setTimeout(() => {
      this.timer = undefined;
      void this.write();
    }, DEBOUNCE_MS);
    this.timer.unref();
  }

  private async write(): Promise<void> {
    if (!this.dirty) return;
    this.dirty = false;
    const generation = ++this.generation;
    this.writing = (async () => {
      try {
        await writeFile(this.temp, serialise(this.snapshot()), { mode: 0o600 });
        // Renamed on the main thread, so the check and the rename cannot be split by a flushSync.
        if (generation === this.generation) renameSync(this.temp, this.path);
        else await rm(this.temp, { force: true });
      } catch (e) {
        log().error({ err: e, file: this.path }, 'ban state file not written');
      }
    })();
    await this.writing;
    this.writing = undefined;
    // Changes made while writing get their own write.
    if (this.dirty) this.schedule();
  }

  /** At shutdown: whatever is pending is written now, synchronously. */
  flushSync(): void {
    if (this.timer) clearTimeout(this.timer);
    this.timer = undefined;
    // A write still in flight might not finish before the process exits: write again, now.
    if (!this.dirty && !this.writing) return;
    this.dirty = false;
    this.generation++;
    const temp = `${this.temp}.sync`;
    try {
      writeFileSync(temp, serialise(this.snapshot()), { mode: 0o600 });
      renameSync(temp, this.path);
    } catch (e) {
      log().error({ err: e, file: this.path }, 'ban state file not written');
    }
  }
}
