/**
 * One request's trip through the rules: the data the phases see, the state actions change (TX, captures,
 * removals), and what was matched. Phases are called in order by the WAF stage or the middleware.
 */
import { parseUrlEncoded } from '../bodies/index.js';
import { Collection, VariableStore, type ReadableCollection } from './collections.js';
import type { RuleSet } from './compile.js';
import { runPhase, type EvalContext, type Interruption, type MatchRecord, type PhaseOutcome } from './evaluate.js';
import { expand, type MacroRef } from './macros.js';
import { addCookies, decodePercent, processBody, processorFor, splitUri } from './request-data.js';
import { startMemoGeneration } from './memo.js';
import type { RequestInfo, ResponseInfo } from './request-data.js';
import type { BodyProcessor, Ctl, EngineMode, Exclusion, Phase, Rule } from './rule.js';
import { seenValue, varValue, WALK, type ConstantValues, type ValueView, type VarValue } from './variables.js';
import type { OperatorMatch } from './operators.js';
import { ValueViews } from './views.js';

export class Transaction implements EvalContext {
  readonly ruleSet: RuleSet;
  readonly id: string;
  mode: EngineMode;
  requestBodyAccess: boolean;
  responseBodyAccess: boolean;
  bodyProcessor: BodyProcessor | undefined;
  forceBodyVariable = false;
  currentRule: Rule | undefined;
  interruption: Interruption | undefined;
  readonly matches: MatchRecord[] = [];
  /** Body parsing problems, worded as ModSecurity logs them (the CRS regression suite reads them). */
  readonly errors: string[] = [];

  private readonly collections = new Map<string, ReadableCollection>();
  private readonly scalars = new ScalarStore((name) => this.forget(name));
  private readonly tx = new VariableStore();
  /** MATCHED_VARS of the rule being evaluated; the collection is made only when a rule reads it (few do). */
  private readonly matchedValues: VarValue[] = [];
  private matchedCount = 0;
  private matchedVars: Collection | undefined;
  private matchedVar: VarValue | undefined;
  private removedIds: (readonly [number, number])[] = [];
  private removedTags = new Set<string>();
  private removedMsgs = new Set<string>();
  private exclusionsById = new Map<number, Exclusion[]>();
  private tagExclusions: { tag: string; exclusion: Exclusion }[] = [];
  /**
   * Per rule idIndex, the runtime exclusions above merged (false: none); emptied whenever a ctl adds one. A Map: a
   * request's ctls touch a few dozen rules of hundreds.
   */
  private exclusionCache?: Map<number, readonly Exclusion[] | false>;
  /** By idIndex, 1 for the rules whose tags a ctl:ruleRemoveTargetByTag named (see RuleSet.idsByTag). */
  private tagExcluded?: Uint8Array;
  private readonly scalarValues = new Map<string, VarValue>();
  private readonly values: ValueViews;
  private skipPhasesUpTo = 0;
  private readonly started = Date.now();

  constructor(ruleSet: RuleSet, id: string) {
    this.ruleSet = ruleSet;
    this.id = id;
    this.values = new ValueViews(ruleSet, this);
    startMemoGeneration();
    this.mode = ruleSet.settings.mode;
    this.requestBodyAccess = ruleSet.settings.requestBodyAccess;
    this.responseBodyAccess = ruleSet.settings.responseBodyAccess;
  }

  get blocking(): boolean {
    return this.mode === 'on';
  }

  get constants(): ConstantValues {
    return this.ruleSet.constants;
  }

  get txStore(): VariableStore {
    return this.tx;
  }

  // --- phases -------------------------------------------------------------------------------------------------

  processRequestHeaders(req: RequestInfo): Interruption | undefined {
    const { uri, path, query } = splitUri(req.uri);
    const s = this.scalars;
    s.set('REQUEST_METHOD', req.method);
    s.set('REQUEST_PROTOCOL', req.protocol);
    s.set('REQUEST_LINE', req.protocol ? `${req.method} ${req.uri} ${req.protocol}` : `${req.method} ${req.uri}`);
    s.set('REQUEST_URI_RAW', req.uri);
    s.set('REQUEST_URI', uri);
    const filename = decodePercent(path);
    s.set('REQUEST_FILENAME', filename);
    s.set('PATH_INFO', filename);
    s.set('REQUEST_BASENAME', filename.slice(filename.lastIndexOf('/') + 1));
    s.set('QUERY_STRING', query ?? '');
    s.set('REMOTE_ADDR', req.clientAddress);
    s.set('REMOTE_PORT', String(req.clientPort));
    if (req.serverAddress) s.set('SERVER_ADDR', req.serverAddress);
    if (req.serverPort) s.set('SERVER_PORT', String(req.serverPort));
    s.set('UNIQUE_ID', this.id);
    const headers = new Collection();
    const cookies = new Collection();
    for (const [name, value] of req.headers) {
      headers.add(name, value);
      if (name.toLowerCase() === 'cookie') addCookies(cookies, value);
    }
    const host = headers.first('host');
    if (host !== undefined) s.set('SERVER_NAME', host.replace(/:\d+$/, ''));
    const argsGet = new Collection();
    if (query !== undefined) {
      const limits = {
        maxArgs: this.ruleSet.settings.argumentsLimit,
        maxJsonDepth: this.ruleSet.settings.jsonDepthLimit,
      };
      for (const [k, v] of parseUrlEncoded(query, limits).args) argsGet.add(k, v);
    }
    this.setCollection('REQUEST_HEADERS', headers);
    this.setCollection('REQUEST_COOKIES', cookies);
    this.setCollection('ARGS_GET', argsGet);
    this.rebuildArgs();
    this.bodyProcessor = processorFor(headers.first('content-type'));
    // Present even when empty, as in Coraza: CRS 901340 forces REQUEST_BODY for bodies no processor reads.
    s.set('REQBODY_PROCESSOR', this.bodyProcessor ?? '');
    return this.run(1);
  }

  processRequestBody(body: string | undefined): Interruption | undefined {
    const s = this.scalars;
    const settings = this.ruleSet.settings;
    s.set('REQBODY_ERROR', '0');
    if (body !== undefined && this.requestBodyAccess && this.mode !== 'off') {
      s.set('REQUEST_BODY_LENGTH', String(body.length));
      if (this.bodyProcessor) s.set('REQBODY_PROCESSOR', this.bodyProcessor);
      // The raw body is a variable for URL-encoded and JSON bodies, as in Coraza (CRS matches JSON keys in it,
      // 934210), not for XML and multipart unless forceRequestBodyVariable asks (CRS 901340 does for unknown types).
      const raw = this.bodyProcessor === 'URLENCODED' || this.bodyProcessor === 'JSON';
      if (raw || this.forceBodyVariable) s.set('REQUEST_BODY', body);
      if (this.bodyProcessor && body.length > 0) {
        const contentType = (this.collections.get('REQUEST_HEADERS') as Collection).first('content-type') ?? '';
        const limits = { maxArgs: settings.argumentsLimit, maxJsonDepth: settings.jsonDepthLimit };
        const out = processBody(this.bodyProcessor, body, contentType, limits);
        this.setCollection('ARGS_POST', out.args);
        if (out.files) this.setCollection('FILES', out.files);
        if (out.filesNames) this.setCollection('FILES_NAMES', out.filesNames);
        if (out.filesSizes) this.setCollection('FILES_SIZES', out.filesSizes);
        if (out.partHeaders) this.setCollection('MULTIPART_PART_HEADERS', out.partHeaders);
        if (out.xml) this.setCollection('XML', out.xml);
        if (out.filesCombinedSize !== undefined) s.set('FILES_COMBINED_SIZE', String(out.filesCombinedSize));
        for (const [flag, v] of Object.entries(out.multipartFlags ?? {})) s.set(flag, String(v));
        if (out.error) {
          s.set('REQBODY_ERROR', '1');
          s.set('REQBODY_PROCESSOR_ERROR', '1');
          s.set('REQBODY_ERROR_MSG', out.error);
          this.errors.push(out.error);
        }
        this.rebuildArgs();
      }
    }
    const outcome = this.run(2);
    this.releaseRequestCaches();
    return outcome;
  }

  /**
   * The request phases are over; what the views cached about request values is of little use to the response
   * phases and would stay alive for the whole trip to the origin (see ValueViews.release).
   */
  private releaseRequestCaches(): void {
    this.values.release();
    this.cachesInUse = false;
    for (const c of this.collections.values()) for (const e of c.entries()) e.seen = undefined;
  }

  processResponseHeaders(res: ResponseInfo): Interruption | undefined {
    const s = this.scalars;
    s.set('RESPONSE_STATUS', String(res.status));
    s.set('RESPONSE_PROTOCOL', res.protocol);
    s.set('STATUS_LINE', `${res.protocol} ${res.status}`);
    const headers = new Collection();
    for (const [name, value] of res.headers) headers.add(name, value);
    this.setCollection('RESPONSE_HEADERS', headers);
    const type = headers.first('content-type');
    if (type !== undefined) s.set('RESPONSE_CONTENT_TYPE', type);
    const length = headers.first('content-length');
    if (length !== undefined) s.set('RESPONSE_CONTENT_LENGTH', length);
    return this.run(3);
  }

  /** Whether phase 4 wants the body: response body access is on and the content type is one to inspect. */
  wantsResponseBody(): boolean {
    if (!this.responseBodyAccess || this.mode === 'off' || this.interruption) return false;
    const type = this.scalars.get('RESPONSE_CONTENT_TYPE');
    const mime = (type ?? '').split(';', 1)[0]!.trim().toLowerCase();
    return this.ruleSet.settings.responseBodyMimeTypes.has(mime);
  }

  processResponseBody(body: string | undefined): Interruption | undefined {
    if (body !== undefined && this.wantsResponseBody()) this.scalars.set('RESPONSE_BODY', body);
    return this.run(4);
  }

  processLogging(): void {
    if (this.mode === 'off') return;
    const keep = this.interruption;
    this.interruption = undefined;
    runPhase(this, 5);
    this.interruption = keep;
  }

  private run(phase: Phase): Interruption | undefined {
    if (this.mode === 'off' || this.interruption) return this.interruption;
    if (phase <= this.skipPhasesUpTo) return undefined;
    this.cachesInUse = true;
    const outcome: PhaseOutcome = runPhase(this, phase);
    if (outcome.kind === 'interrupted') this.interruption = outcome.interruption;
    return this.interruption;
  }

  allow(scope: Rule['allowScope'], phase: Phase): void {
    this.skipPhasesUpTo = scope === 'phase' ? phase : scope === 'request' ? Math.max(phase, 2) : 4;
  }

  // --- data ---------------------------------------------------------------------------------------------------

  private setCollection(name: string, c: Collection): void {
    this.collections.set(name, c);
    this.collections.set(`${name}_NAMES`, c.names());
    this.forget(name);
    this.forget(`${name}_NAMES`);
  }

  /**
   * False while no rule has run since the views were last emptied: a phase's request data is set before its rules
   * run (about 20 variables a request), and there is nothing to forget about them yet.
   */
  private cachesInUse = false;

  /** Drops what the views cached about a variable whose value just changed. */
  private forget(name: string): void {
    if (!this.cachesInUse) return;
    const d = this.ruleSet.dependents.get(name);
    if (d) this.values.forget(d);
  }

  private rebuildArgs(): void {
    const all = new Collection();
    let size = 0;
    for (const name of ['ARGS_GET', 'ARGS_POST']) {
      for (const e of this.collections.get(name)?.entries() ?? []) {
        all.add(e.key, e.value);
        size += e.key.length + e.value.length;
      }
    }
    this.setCollection('ARGS', all);
    this.scalars.set('ARGS_COMBINED_SIZE', String(size));
  }

  collection(name: string): ReadableCollection | undefined {
    if (name === 'TX') return this.tx;
    if (name === 'MATCHED_VARS') return this.matchedVarsCollection();
    if (name === 'MATCHED_VARS_NAMES') return this.matchedVarsCollection().names();
    return this.collections.get(name);
  }

  scalar(name: string): string | undefined {
    switch (name) {
      case 'MATCHED_VAR':
        return this.matchedVar?.value;
      case 'MATCHED_VAR_NAME':
        return this.matchedVar?.name;
      case 'DURATION':
        return String((Date.now() - this.started) * 1000);
      case 'TIME_EPOCH':
        return String(Math.floor(Date.now() / 1000));
      case 'HIGHEST_SEVERITY': {
        let highest = 255;
        for (const m of this.matches) if (m.severityLevel !== undefined) highest = Math.min(highest, m.severityLevel);
        return String(highest);
      }
      default:
        return this.scalars.get(name);
    }
  }

  scalarValue(name: string): VarValue | undefined {
    const value = this.scalar(name);
    if (value === undefined) return undefined;
    let v = this.scalarValues.get(name);
    if (v === undefined || v.value !== value) this.scalarValues.set(name, (v = varValue(name, value)));
    return v;
  }

  macroValue(ref: MacroRef): string | undefined {
    const v = ref.variable;
    if (ref.key === undefined) return this.scalar(v);
    if (v === 'TX') return this.tx.get(ref.key);
    if (v === 'RULE') return this.ruleMacro(ref.key);
    const col = this.collection(v);
    if (!col) return undefined;
    for (const e of col.entries()) if (e.lkey === ref.key) return e.value;
    return undefined;
  }

  private ruleMacro(key: string): string | undefined {
    const r = this.currentRule;
    if (!r) return undefined;
    if (key === 'id') return String(r.id);
    if (key === 'msg') return r.msg === undefined ? '' : expand(r.msg, this);
    if (key === 'severity') return r.severity === undefined ? undefined : String(r.severity);
    return undefined;
  }

  subject(value: string): Buffer {
    return this.values.subject(value);
  }

  viewFor(rule: Rule): ValueView {
    return this.values.viewFor(rule);
  }

  txValue(rule: Rule): VarValue | undefined | typeof WALK {
    if (this.runtimeExclusions(rule) !== undefined) return WALK;
    const e = this.tx.entry(rule.txKey!);
    if (rule.txCount) return this.ruleSet.constants.count('TX', e === undefined ? 0 : 1);
    return e === undefined ? undefined : seenValue('TX', e);
  }

  transformedAt(rule: Rule, view: ValueView, i: number): string {
    return this.values.transformedAt(rule, view, i);
  }

  unitsMayMatch(rule: Rule): boolean {
    return this.values.unitsMayMatch(rule);
  }

  mayMatchAnyTarget(rule: Rule): boolean {
    return this.values.mayMatchAnyTarget(rule);
  }

  mayMatchAt(rule: Rule, view: ValueView, i: number): boolean {
    return this.values.mayMatchAt(rule, view, i);
  }

  mayMatch(rule: Rule, value: string): boolean {
    return this.values.mayMatch(rule, value);
  }

  operatorRun(rule: Rule, value: string): OperatorMatch | null {
    return rule.operator.run(this, value, rule.capture);
  }

  operatorRunAt(rule: Rule, view: ValueView, i: number, value: string): OperatorMatch | null {
    return this.values.operatorRunAt(rule, view, i, value);
  }

  transformedAll(rule: Rule, v: VarValue): readonly string[] {
    return this.values.transformedAll(rule, v);
  }

  // --- effects of actions --------------------------------------------------------------------------------------

  setCaptures(groups: readonly (string | undefined)[]): void {
    // Runs for every captured value (CRS 920450 captures each header name): only what changes is written.
    for (let i = 0; i < 10; i++) {
      const key = CAPTURE_KEYS[i]!;
      const g = i < groups.length ? (groups[i] ?? '') : undefined;
      if (g === undefined) this.tx.deleteLowerCased(key);
      else if (this.tx.get(key) !== g) this.tx.set(key, g);
    }
  }

  recordMatch(v: VarValue, first: boolean): void {
    // A count, not `length = 0`: emptying the array would give back its storage, to be grown again by the next match.
    if (first) this.matchedCount = 0;
    this.matchedValues[this.matchedCount++] = v;
    this.matchedVars = undefined;
    this.matchedVar = v;
  }

  private matchedVarsCollection(): Collection {
    if (this.matchedVars === undefined) {
      this.matchedVars = new Collection();
      for (let i = 0; i < this.matchedCount; i++)
        this.matchedVars.add(this.matchedValues[i]!.name, this.matchedValues[i]!.value);
    }
    return this.matchedVars;
  }

  matchedVarSnapshot(): VarValue | undefined {
    return this.matchedVar;
  }

  runSetVars(rule: Rule): void {
    for (const sv of rule.setvars) {
      if (sv.collection !== 'TX') continue; // IP/GLOBAL persistence is not kept; CRS writes TX only.
      const key = expand(sv.key, this);
      if (sv.op === 'delete') {
        this.tx.delete(key);
        continue;
      }
      const value = expand(sv.value, this);
      if (sv.op === 'set') this.tx.set(key, value);
      else {
        const prior = parseInt(this.tx.get(key.toLowerCase()) ?? '0', 10) || 0;
        const delta = parseInt(value, 10) || 0;
        this.tx.set(key, String(sv.op === 'add' ? prior + delta : prior - delta));
      }
    }
  }

  runCtl(ctl: Ctl): void {
    switch (ctl.kind) {
      case 'remove-by-id':
        this.removedIds.push(...ctl.ranges);
        break;
      case 'remove-by-tag':
        this.removedTags.add(ctl.tag);
        break;
      case 'remove-by-msg':
        this.removedMsgs.add(ctl.msg);
        break;
      case 'remove-target-by-id':
        this.exclusionCache?.clear();
        for (const [lo, hi] of ctl.ranges) {
          for (let id = lo; id <= hi && id - lo < 100000; id++) {
            const list = this.exclusionsById.get(id) ?? [];
            list.push(ctl.exclusion);
            this.exclusionsById.set(id, list);
          }
        }
        break;
      case 'remove-target-by-tag':
        this.exclusionCache?.clear();
        this.tagExclusions.push({ tag: ctl.tag, exclusion: ctl.exclusion });
        this.tagExcluded ??= new Uint8Array(this.ruleSet.idCount);
        for (const index of this.ruleSet.idsByTag.get(ctl.tag) ?? []) this.tagExcluded[index] = 1;
        break;
      case 'remove-target-by-msg':
        break;
      case 'rule-engine':
        this.mode = ctl.mode;
        break;
      case 'body-processor':
        this.bodyProcessor = ctl.processor;
        break;
      case 'force-body-variable':
        this.forceBodyVariable = ctl.on;
        break;
      case 'request-body-access':
        this.requestBodyAccess = ctl.on;
        break;
      case 'response-body-access':
        this.responseBodyAccess = ctl.on;
        break;
      case 'ignored':
        break;
    }
  }

  isRemoved(rule: Rule): boolean {
    for (const [lo, hi] of this.removedIds) if (rule.id >= lo && rule.id <= hi) return true;
    if (this.removedTags.size) for (const t of rule.tags) if (this.removedTags.has(t)) return true;
    if (this.removedMsgs.size && typeof rule.msg === 'string' && this.removedMsgs.has(rule.msg)) return true;
    return false;
  }

  runtimeExclusions(rule: Rule): readonly Exclusion[] | undefined {
    if (this.exclusionsById.size === 0 && (this.tagExcluded === undefined || this.tagExcluded[rule.idIndex] !== 1)) {
      return undefined;
    }
    this.exclusionCache ??= new Map();
    const cached = this.exclusionCache.get(rule.idIndex);
    if (cached !== undefined) return cached === false ? undefined : cached;
    const ruleId = rule.id;
    const byId = this.exclusionsById.get(ruleId);
    const tags = this.currentRule?.tags;
    let merged: Exclusion[] | undefined;
    if (tags?.length) {
      for (const t of this.tagExclusions) {
        if (!tags.includes(t.tag)) continue;
        merged ??= byId ? [...byId] : [];
        merged.push(t.exclusion);
      }
    }
    const out = merged ?? byId;
    this.exclusionCache.set(rule.idIndex, out ?? false);
    return out;
  }

  log(record: MatchRecord): void {
    this.matches.push(record);
  }
}

/** Single-valued request variables; a change of value tells the transaction which caches to drop. */
class ScalarStore {
  private readonly map = new Map<string, string>();

  constructor(private readonly changed: (name: string) => void) {}

  get(name: string): string | undefined {
    return this.map.get(name);
  }

  set(name: string, value: string): void {
    if (this.map.get(name) === value) return;
    this.map.set(name, value);
    this.changed(name);
  }
}

/** TX keys of the capture groups, TX:0 to TX:9. */
const CAPTURE_KEYS = ['0', '1', '2', '3', '4', '5', '6', '7', '8', '9'];
