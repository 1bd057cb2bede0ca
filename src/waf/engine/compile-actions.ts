/** Action lists into rule fields. Unknown actions and bad values are problems reported with the rule's line. */
import RE2 from 're2';
import { lookupTransform, type Transform } from '../transforms/index.js';
import { parseVariables } from '../seclang/specs.js';
import type { ActionSpec, VariableSpec } from '../seclang/types.js';
import { compileTemplate, type Template } from './macros.js';
import { SEVERITIES, type Ctl, type Disruptive, type Exclusion, type KeyMatcher, type SetVar } from './rule.js';

/** Everything an action list can say; a rule starts from its phase's defaults and its own actions overwrite. */
export interface ActionFields {
  id?: number;
  phase?: number;
  transforms: { name: string; fn: Transform }[];
  multiMatch?: boolean;
  capture?: boolean;
  setvars: SetVar[];
  ctls: Ctl[];
  msg?: Template;
  logdata?: Template;
  severity?: number;
  tags: string[];
  ver?: string;
  log?: boolean;
  auditlog?: boolean;
  disruptive?: Disruptive;
  allowScope?: 'all' | 'phase' | 'request';
  status?: number;
  redirect?: Template;
  skip?: number;
  skipAfter?: string;
  chain?: boolean;
}

export function emptyFields(): ActionFields {
  return { transforms: [], setvars: [], ctls: [], tags: [] };
}

/** Accepted and ignored: they tune logging or storage that Bulwark does its own way. */
const IGNORED = new Set([
  'rev',
  'maturity',
  'accuracy',
  'sanitisearg',
  'sanitisematched',
  'sanitisematchedbytes',
  'sanitiserequestheader',
  'sanitiseresponseheader',
  'setenv',
  'setuid',
  'setsid',
  'setrsc',
  'expirevar',
  'deprecatevar',
  'initcol',
  'xmlns',
  'append',
  'prepend',
]);

const PHASES: Readonly<Record<string, number>> = { request: 2, response: 4, logging: 5 };

export function applyActions(fields: ActionFields, actions: readonly ActionSpec[], problems: string[]): void {
  for (const { name, value } of actions) {
    const v = value ?? '';
    switch (name) {
      case 'id': {
        const id = Number(v);
        if (!/^\d+$/.test(v) || id <= 0) problems.push(`id: got "${v}"; expected a positive integer`);
        else fields.id = id;
        break;
      }
      case 'phase': {
        const p = PHASES[v.toLowerCase()] ?? Number(v);
        if (!(p >= 1 && p <= 5) || !Number.isInteger(p)) problems.push(`phase: got "${v}"; expected 1-5`);
        else fields.phase = p;
        break;
      }
      case 't': {
        if (v.toLowerCase() === 'none') {
          fields.transforms = [];
          break;
        }
        const fn = lookupTransform(v.toLowerCase());
        if (!fn) problems.push(`t:${v}: unknown transformation`);
        else fields.transforms.push({ name: v.toLowerCase(), fn });
        break;
      }
      case 'multimatch':
        fields.multiMatch = true;
        break;
      case 'capture':
        fields.capture = true;
        break;
      case 'setvar': {
        const sv = parseSetVar(v);
        if (typeof sv === 'string') problems.push(`setvar:${v}: ${sv}`);
        else fields.setvars.push(sv);
        break;
      }
      case 'ctl': {
        const ctl = parseCtl(v);
        if (typeof ctl === 'string') problems.push(`ctl:${v}: ${ctl}`);
        else fields.ctls.push(ctl);
        break;
      }
      case 'msg':
        fields.msg = compileTemplate(v);
        break;
      case 'logdata':
        fields.logdata = compileTemplate(v);
        break;
      case 'severity': {
        const s = SEVERITIES[v.toUpperCase()] ?? (/^[0-7]$/.test(v) ? Number(v) : undefined);
        if (s === undefined) problems.push(`severity: got "${v}"; expected CRITICAL, ERROR, WARNING, NOTICE… or 0-7`);
        else fields.severity = s;
        break;
      }
      case 'tag':
        fields.tags.push(v);
        break;
      case 'ver':
        fields.ver = v;
        break;
      case 'log':
      case 'nolog':
        fields.log = name === 'log';
        break;
      case 'auditlog':
      case 'noauditlog':
        fields.auditlog = name === 'auditlog';
        break;
      case 'pass':
      case 'block':
      case 'deny':
      case 'drop':
        fields.disruptive = name;
        break;
      case 'allow':
        fields.disruptive = 'allow';
        fields.allowScope = v === 'phase' ? 'phase' : v === 'request' ? 'request' : 'all';
        break;
      case 'redirect':
        fields.disruptive = 'redirect';
        fields.redirect = compileTemplate(v);
        break;
      case 'status': {
        const s = Number(v);
        if (!/^\d{3}$/.test(v) || s < 100 || s > 599) problems.push(`status: got "${v}"; expected an HTTP status`);
        else fields.status = s;
        break;
      }
      case 'skip': {
        const s = Number(v);
        if (!/^\d+$/.test(v) || s < 1) problems.push(`skip: got "${v}"; expected a positive count of rules`);
        else fields.skip = s;
        break;
      }
      case 'skipafter':
        if (v === '') problems.push('skipAfter: expected a marker name or rule id');
        else fields.skipAfter = v;
        break;
      case 'chain':
        fields.chain = true;
        break;
      case 'exec':
      case 'proxy':
      case 'pause':
        problems.push(`${name}: not supported by Bulwark (it would run programs or hold connections)`);
        break;
      default:
        if (!IGNORED.has(name)) problems.push(`unknown action "${name}"`);
    }
  }
}

function parseSetVar(text: string): SetVar | string {
  let body = text.trim();
  let op: SetVar['op'] = 'set';
  if (body.startsWith('!')) {
    op = 'delete';
    body = body.slice(1);
  }
  const eq = body.indexOf('=');
  const name = eq < 0 ? body : body.slice(0, eq);
  let value = eq < 0 ? (op === 'delete' ? '' : '1') : body.slice(eq + 1);
  if (op !== 'delete' && (value.startsWith('+') || value.startsWith('-'))) {
    op = value.startsWith('+') ? 'add' : 'sub';
    value = value.slice(1);
  }
  const dot = name.indexOf('.');
  if (dot <= 0 || dot === name.length - 1) return 'expected COLLECTION.KEY=VALUE';
  return {
    collection: name.slice(0, dot).toUpperCase(),
    key: compileTemplate(name.slice(dot + 1)),
    op,
    value: compileTemplate(value),
  };
}

export function parseIdRanges(text: string): [number, number][] | string {
  const ranges: [number, number][] = [];
  for (const part of text.split(/[\s,]+/).filter(Boolean)) {
    const m = /^(\d+)(?:-(\d+))?$/.exec(part);
    if (!m) return `"${part}" is not a rule id or a range of ids`;
    ranges.push([Number(m[1]), Number(m[2] ?? m[1])]);
  }
  return ranges.length ? ranges : 'expected rule ids';
}

function parseCtl(text: string): Ctl | string {
  const eq = text.indexOf('=');
  if (eq < 0) return 'expected NAME=VALUE';
  const name = text.slice(0, eq).trim().toLowerCase();
  const value = text.slice(eq + 1).trim();
  const on = value.toLowerCase() === 'on';
  switch (name) {
    case 'ruleremovebyid': {
      const ranges = parseIdRanges(value);
      return typeof ranges === 'string' ? ranges : { kind: 'remove-by-id', ranges };
    }
    case 'ruleremovebytag':
      return { kind: 'remove-by-tag', tag: value };
    case 'ruleremovebymsg':
      return { kind: 'remove-by-msg', msg: value };
    case 'ruleremovetargetbyid':
    case 'ruleremovetargetbytag':
    case 'ruleremovetargetbymsg': {
      const semi = value.indexOf(';');
      if (semi < 0) return 'expected SELECTOR;VARIABLE';
      const exclusion = toExclusion(value.slice(semi + 1));
      if (typeof exclusion === 'string') return exclusion;
      const selector = value.slice(0, semi);
      if (name === 'ruleremovetargetbyid') {
        const ranges = parseIdRanges(selector);
        return typeof ranges === 'string' ? ranges : { kind: 'remove-target-by-id', ranges, exclusion };
      }
      return name === 'ruleremovetargetbytag'
        ? { kind: 'remove-target-by-tag', tag: selector, exclusion }
        : { kind: 'remove-target-by-msg', msg: selector, exclusion };
    }
    case 'ruleengine': {
      const mode = value.toLowerCase();
      if (mode === 'on' || mode === 'off') return { kind: 'rule-engine', mode };
      if (mode === 'detectiononly') return { kind: 'rule-engine', mode: 'detection_only' };
      return `ruleEngine: got "${value}"; expected On, Off or DetectionOnly`;
    }
    case 'requestbodyprocessor': {
      const p = value.toUpperCase();
      if (p === 'URLENCODED' || p === 'MULTIPART' || p === 'JSON' || p === 'XML')
        return { kind: 'body-processor', processor: p };
      return `requestBodyProcessor: got "${value}"; expected URLENCODED, MULTIPART, JSON or XML`;
    }
    case 'forcerequestbodyvariable':
      return { kind: 'force-body-variable', on };
    case 'requestbodyaccess':
      return { kind: 'request-body-access', on };
    case 'responsebodyaccess':
      return { kind: 'response-body-access', on };
    case 'auditengine':
    case 'auditlogparts':
    case 'debugloglevel':
    case 'requestbodylimit':
    case 'hashengine':
    case 'hashenforcement':
      return { kind: 'ignored', name };
    default:
      return `unknown ctl "${name}"`;
  }
}

/** `ARGS:password` or `REQUEST_COOKIES:/^sess/` as an exclusion. */
export function toExclusion(text: string): Exclusion | string {
  const parsed = parseVariables(text);
  if (!parsed.ok) return parsed.error;
  if (parsed.value.length !== 1) return 'expected one variable';
  return { variable: parsed.value[0]!.name, ...keyMatcher(parsed.value[0]!) };
}

/** Both fields always present (one undefined): every target and exclusion object then has the same shape. */
export function keyMatcher(spec: VariableSpec): KeyMatcher {
  if (spec.key === undefined) return { key: undefined, regex: undefined };
  if (spec.keyIsRegex) return { key: undefined, regex: memoisedKeyRegex(spec.key) };
  return { key: spec.key.toLowerCase(), regex: undefined };
}

/**
 * Selector regexes run against the same few header, cookie and argument names on every request: remember the
 * answers (bounded, since names come from clients) instead of calling into RE2 each time.
 */
function memoisedKeyRegex(source: string): { readonly source: string; test(key: string): boolean } {
  const re = new RE2(source, 'i');
  const seen = new Map<string, boolean>();
  return {
    source,
    test(key) {
      let hit = seen.get(key);
      if (hit === undefined) {
        hit = re.test(key);
        if (seen.size >= 1024) seen.clear();
        seen.set(key, hit);
      }
      return hit;
    },
  };
}
