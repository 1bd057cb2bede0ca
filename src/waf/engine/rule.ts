/** Compiled rules: everything a transaction needs, decided at load. */
import type { Transform } from '../transforms/index.js';
import type { Source } from '../seclang/types.js';
import type { CompiledOperator } from './operators.js';
import type { Template } from './macros.js';
import type { RegexPrefilter } from './prefilter.js';

export type Phase = 1 | 2 | 3 | 4 | 5;
export type Disruptive = 'pass' | 'block' | 'deny' | 'drop' | 'allow' | 'redirect';
export type EngineMode = 'on' | 'off' | 'detection_only';
export type BodyProcessor = 'URLENCODED' | 'MULTIPART' | 'JSON' | 'XML';

/** A key selector matches case-insensitively, as ModSecurity's collections do. */
export interface KeyMatcher {
  /** Lower-cased key. */
  readonly key?: string;
  readonly regex?: { readonly source: string; test(key: string): boolean };
}

export interface Target extends KeyMatcher {
  /** Upper-cased variable name. */
  readonly variable: string;
  readonly count: boolean;
  /** A collection (ARGS, TX...) rather than a scalar (REQUEST_URI...): decided at load. */
  readonly collection: boolean;
}

export interface Exclusion extends KeyMatcher {
  readonly variable: string;
}

export interface SetVar {
  readonly collection: string;
  readonly key: Template;
  readonly op: 'set' | 'add' | 'sub' | 'delete';
  readonly value: Template;
}

export type Ctl =
  | { readonly kind: 'remove-by-id'; readonly ranges: readonly (readonly [number, number])[] }
  | { readonly kind: 'remove-by-tag'; readonly tag: string }
  | { readonly kind: 'remove-by-msg'; readonly msg: string }
  | {
      readonly kind: 'remove-target-by-id';
      readonly ranges: readonly (readonly [number, number])[];
      readonly exclusion: Exclusion;
    }
  | { readonly kind: 'remove-target-by-tag'; readonly tag: string; readonly exclusion: Exclusion }
  | { readonly kind: 'remove-target-by-msg'; readonly msg: string; readonly exclusion: Exclusion }
  | { readonly kind: 'rule-engine'; readonly mode: EngineMode }
  | { readonly kind: 'body-processor'; readonly processor: BodyProcessor }
  | { readonly kind: 'force-body-variable'; readonly on: boolean }
  | { readonly kind: 'request-body-access'; readonly on: boolean }
  | { readonly kind: 'response-body-access'; readonly on: boolean }
  | { readonly kind: 'ignored'; readonly name: string };

export interface Rule {
  /** A chain link carries its head's id. */
  readonly id: number;
  readonly phase: Phase;
  readonly source: Source;
  readonly isChainLink: boolean;
  targets: Target[];
  exclusions: Exclusion[];
  readonly operator: CompiledOperator;
  transforms: readonly Transform[];
  /** Names of the transformations, joined: the key of the per-transaction transformation cache. */
  transformKey: string;
  /** A small integer per distinct transformation chain (load time): where per-value caches keep its result. */
  chainId: number;
  multiMatch: boolean;
  capture: boolean;
  /** The RE2.Sets that scan values for this rule's `@rx` pattern, and the pattern's index in them (load time). */
  prefilter?: RegexPrefilter;
  prefilterIndex: number;
  /** Rules with equal ids read the same variables with the same exclusions; -1 when the values are volatile. */
  targetsId: number;
  /** Shared-view slot: one per (targetsId, transformation chain); -1 when the values are volatile. */
  viewId: number;
  /**
   * Prefilter-answer slot: one per (set of targets in any order, chain). Which patterns the values can match does
   * not depend on the order the rule lists its targets in, and CRS lists the same targets in many orders.
   */
  unionId: number;
  /**
   * Per target, a slot for the patterns that target's values may match through the rule's chain, exclusions
   * ignored (a superset): shared by every rule that reads that target through that chain, whatever its other
   * targets. Empty when the values are volatile.
   */
  unitIds: readonly number[];
  /** Per target, a slot for that target's values alone (no exclusions), shared by every chain. */
  unitTargetIds: readonly number[];
  /**
   * The per-target answers alone can rule the rule out (a prefiltered, plain `@rx` chain head): the phase walk asks
   * them before anything else, and a rule they rule out costs one check. Removals and exclusions cannot make such a
   * rule match, so they need not be looked at first.
   */
  fastReject: boolean;
  /** Where a pure operator's answers are kept with each value's derived forms for this rule's chain; -1: not kept. */
  opSlot: number;
  /**
   * The lower-cased key when the rule reads one TX variable as it is, or counts it (`&TX:key`), with no
   * transformation or exclusion: a paranoia-level gate, a setup default or an anomaly-score check. CRS runs some
   * 200 of them a request; they are answered straight from the TX store. Undefined otherwise.
   */
  txKey: string | undefined;
  /** With txKey: the rule reads `&TX:key` (0 or 1), not the value. */
  txCount: boolean;
  /** The rule's id numbered densely at load (chain links share their head's); -1 before. */
  idIndex: number;
  setvars: readonly SetVar[];
  ctls: readonly Ctl[];
  msg?: Template;
  logdata?: Template;
  severity?: number;
  tags: readonly string[];
  ver?: string;
  log: boolean;
  auditlog: boolean;
  disruptive: Disruptive;
  /** `allow` alone ends all phases, `allow:phase` the current one, `allow:request` the request phases. */
  allowScope: 'all' | 'phase' | 'request';
  status?: number;
  redirect?: Template;
  skip: number;
  skipAfter?: string;
  chain?: Rule;
}

export interface Marker {
  readonly marker: string;
}

export type ProgramEntry = Rule | Marker;

export function isMarker(e: ProgramEntry): e is Marker {
  return 'marker' in e;
}

export const SEVERITIES: Readonly<Record<string, number>> = {
  EMERGENCY: 0,
  ALERT: 1,
  CRITICAL: 2,
  ERROR: 3,
  WARNING: 4,
  NOTICE: 5,
  INFO: 6,
  DEBUG: 7,
};

export const SEVERITY_NAMES = ['EMERGENCY', 'ALERT', 'CRITICAL', 'ERROR', 'WARNING', 'NOTICE', 'INFO', 'DEBUG'];
