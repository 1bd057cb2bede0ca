/**
 * "Under attack" mode: one switch per process that puts the challenge in front of every route (except routes whose
 * challenge `mode` is `never`). Set by the top-level `under_attack` key at start and at each reload, and switched
 * through the admin API in between; in cluster mode the primary keeps the truth and sends it to every worker, and to
 * each new worker before its first configuration. An admin switch is not persisted: a restarted node starts with
 * the file's value (off without the key).
 */
import { DEFAULT_DIFFICULTY, MAX_DIFFICULTY, MIN_DIFFICULTY, type UnderAttackConfig } from './schema.js';

export interface UnderAttackState {
  readonly enabled: boolean;
  /** Difficulty for routes that have no challenge config of their own. */
  readonly difficulty: number;
  /** ISO time of the last change, absent until the first. */
  readonly since?: string;
}

let state: UnderAttackState = { enabled: false, difficulty: DEFAULT_DIFFICULTY };

export function underAttack(): UnderAttackState {
  return state;
}

export function setUnderAttack(next: UnderAttackState): UnderAttackState {
  state = next;
  return state;
}

/** Validates an admin request body: `{"enabled": true, "difficulty"?: 18}`. Returns the new state or why not. */
export function parseUnderAttackRequest(body: unknown, now = new Date()): UnderAttackState | string {
  if (typeof body !== 'object' || body === null || Array.isArray(body)) return 'the body must be a JSON object';
  const { enabled, difficulty, ...rest } = body as Record<string, unknown>;
  const extra = Object.keys(rest);
  if (extra.length > 0) return `unknown field ${extra[0]}; expected enabled and optionally difficulty`;
  if (typeof enabled !== 'boolean') return 'enabled must be true or false';
  if (
    difficulty !== undefined &&
    (!Number.isInteger(difficulty) ||
      (difficulty as number) < MIN_DIFFICULTY ||
      (difficulty as number) > MAX_DIFFICULTY)
  )
    return `difficulty must be a whole number from ${MIN_DIFFICULTY} to ${MAX_DIFFICULTY}`;
  return {
    enabled,
    difficulty: (difficulty as number | undefined) ?? state.difficulty,
    since: now.toISOString(),
  };
}

/**
 * What a configuration's `under_attack` asks for, given the previous configuration's (undefined at start). A file
 * without the key leaves the mode to the admin API (undefined), except when the previous file had it: removing
 * the key turns the mode off, as the operator who put it there would expect. `since` moves only on a change.
 */
export function underAttackFromConfig(
  next: UnderAttackConfig | undefined,
  previous: UnderAttackConfig | undefined,
  now = new Date(),
): UnderAttackState | undefined {
  if (next === undefined && previous === undefined) return undefined;
  const enabled = next?.enabled ?? false;
  const difficulty = next?.difficulty ?? DEFAULT_DIFFICULTY;
  const same = state.enabled === enabled && state.difficulty === difficulty;
  return { enabled, difficulty, since: same ? state.since : now.toISOString() };
}
