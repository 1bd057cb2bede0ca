/**
 * The WAF engine as the rest of Bulwark sees it: load CRS and the operator's rules once, then open a transaction
 * per request with the route's profile (mode, paranoia level, thresholds, exclusions). One rule set serves every
 * route: per-route differences are TX values and ctl removals applied when the transaction opens.
 */
import { statSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { parseIdRanges, toExclusion } from './engine/compile-actions.js';
import { compileRuleSet, type RuleSet } from './engine/compile.js';
import type { Ctl, EngineMode } from './engine/rule.js';
import { defaultSettings, type EngineSettings } from './engine/settings.js';
import { Transaction } from './engine/transaction.js';
import { locateCrs } from './crs.js';
import { toBytes } from '../lib/units.js';
import { expandGlob, parseSecLangFile } from './seclang/parser.js';
import { formatProblem, type Directive } from './seclang/types.js';
import type { WafConfig, WafRouteConfig } from './schema.js';

export interface WafProfile {
  readonly mode: EngineMode;
  readonly tx: readonly (readonly [string, string])[];
  readonly ctls: readonly Ctl[];
}

export class Waf {
  constructor(
    readonly ruleSet: RuleSet,
    readonly crsDir: string | undefined,
    readonly loadMs: number,
    private readonly config: WafConfig,
    readonly files: readonly string[],
  ) {}

  /** The engine-wide profile with a route's overrides; a string names what is wrong. */
  profile(route: WafRouteConfig | undefined): WafProfile | string {
    const crs = this.config.crs ?? {};
    const tx: [string, string][] = [];
    const pl = route?.paranoia_level ?? crs.paranoia_level ?? 1;
    tx.push(['blocking_paranoia_level', String(pl)]);
    tx.push(['detection_paranoia_level', String(Math.max(pl, crs.detection_paranoia_level ?? pl))]);
    tx.push(['inbound_anomaly_score_threshold', String(route?.inbound_threshold ?? crs.inbound_threshold ?? 5)]);
    tx.push(['outbound_anomaly_score_threshold', String(route?.outbound_threshold ?? crs.outbound_threshold ?? 4)]);
    if (crs.early_blocking !== undefined) tx.push(['early_blocking', crs.early_blocking ? '1' : '0']);
    for (const [k, v] of Object.entries(crs.variables ?? {})) tx.push([k.toLowerCase(), String(v)]);
    const ctls: Ctl[] = [];
    for (const ex of route?.exclusions ?? []) {
      const ranges = (ex.rules ?? []).map((r) => parseIdRanges(String(r)));
      const bad = ranges.find((r): r is string => typeof r === 'string');
      if (bad) return `exclusions.rules: ${bad}`;
      const idRanges = (ranges as [number, number][][]).flat();
      if (!ex.targets?.length) {
        if (idRanges.length) ctls.push({ kind: 'remove-by-id', ranges: idRanges });
        for (const tag of ex.tags ?? []) ctls.push({ kind: 'remove-by-tag', tag });
        continue;
      }
      if (!idRanges.length && !ex.tags?.length) return 'exclusions: targets need rules or tags to apply to';
      for (const t of ex.targets) {
        const exclusion = toExclusion(t);
        if (typeof exclusion === 'string') return `exclusions.targets: ${t}: ${exclusion}`;
        if (idRanges.length) ctls.push({ kind: 'remove-target-by-id', ranges: idRanges, exclusion });
        for (const tag of ex.tags ?? []) ctls.push({ kind: 'remove-target-by-tag', tag, exclusion });
      }
    }
    return { mode: route?.engine ?? this.ruleSet.settings.mode, tx, ctls };
  }

  transaction(id: string, profile: WafProfile): Transaction {
    const t = new Transaction(this.ruleSet, id);
    t.mode = profile.mode;
    for (const [k, v] of profile.tx) t.txStore.set(k, v);
    for (const c of profile.ctls) t.runCtl(c);
    return t;
  }
}

export type WafLoad = { ok: true; waf: Waf } | { ok: false; problems: string[] };

function settingsFrom(config: WafConfig): EngineSettings {
  const s = defaultSettings();
  s.mode = config.engine ?? 'on';
  const rb = config.request_body ?? {};
  s.requestBodyAccess = rb.access ?? true;
  s.requestBodyLimit = toBytes(rb.limit ?? '13MiB');
  s.requestBodyNoFilesLimit = toBytes(rb.no_files_limit ?? '1MiB');
  s.requestBodyLimitAction = rb.on_limit === 'inspect_partial' ? 'process_partial' : 'reject';
  s.argumentsLimit = rb.arguments_limit ?? 1000;
  s.jsonDepthLimit = rb.json_depth_limit ?? 512;
  const resp = config.response_body ?? {};
  s.responseBodyAccess = resp.access ?? true;
  s.responseBodyMimeTypes = new Set(
    (resp.mime_types ?? ['text/plain', 'text/html', 'text/xml']).map((m) => m.toLowerCase()),
  );
  s.responseBodyLimit = toBytes(resp.limit ?? '512KiB');
  return s;
}

let cached: { key: string; mtimes: number[]; waf: Waf } | undefined;

/** Loads (or reuses, when neither the config nor any rule file changed) the engine. */
export function loadWaf(config: WafConfig | undefined, baseDir: string): WafLoad {
  const cfg = config ?? {};
  const key = JSON.stringify([cfg, baseDir]);
  if (cached && cached.key === key && sameMtimes(cached.waf.files, cached.mtimes)) return { ok: true, waf: cached.waf };
  const started = performance.now();
  const directives: Directive[] = [];
  const files: string[] = [];
  const problems: string[] = [];
  const include = (pattern: string): void => {
    const paths = /[*?[]/.test(pattern) ? expandGlob(pattern) : [pattern];
    if (paths.length === 0) problems.push(`${pattern}: no rule file matches`);
    for (const path of paths) {
      const r = parseSecLangFile(path);
      directives.push(...r.directives);
      files.push(...r.files);
      problems.push(...r.problems.map(formatProblem));
    }
  };
  const expandList = (list: readonly string[] | undefined): void => {
    for (const p of list ?? []) include(resolve(baseDir, p));
  };
  let crsDir: string | undefined;
  expandList(cfg.rules_before_crs);
  if (cfg.crs?.enabled !== false) {
    const where = locateCrs(cfg.crs?.dir, baseDir);
    if (!where.ok) return { ok: false, problems: [where.message] };
    crsDir = where.dir;
    include(cfg.crs?.setup ? resolve(baseDir, cfg.crs.setup) : join(crsDir, 'crs-setup.conf.example'));
    include(join(crsDir, 'rules', '*.conf'));
  }
  expandList(cfg.rules_files);
  if (problems.length) return { ok: false, problems };
  const compiled = compileRuleSet(directives, settingsFrom(cfg));
  if (!compiled.ok) return { ok: false, problems: compiled.problems.map(formatProblem) };
  const waf = new Waf(compiled.ruleSet, crsDir, performance.now() - started, cfg, files);
  cached = { key, mtimes: mtimesOf(files), waf };
  return { ok: true, waf };
}

function mtimesOf(files: readonly string[]): number[] {
  return files.map((f) => {
    try {
      return statSync(f).mtimeMs;
    } catch {
      return -1;
    }
  });
}

function sameMtimes(files: readonly string[], mtimes: readonly number[]): boolean {
  const now = mtimesOf(files);
  return now.every((m, i) => m === mtimes[i]);
}
