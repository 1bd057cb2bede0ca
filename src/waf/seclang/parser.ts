/**
 * Turns SecLang text into directives. Structure only: which actions, operators and variables exist is checked when
 * the rule set is compiled, so that every problem is reported with its file and line in one pass.
 */
import { readdirSync, readFileSync, statSync } from 'node:fs';
import { basename, dirname, isAbsolute, join, resolve } from 'node:path';
import { logicalLines, splitArguments } from './lexer.js';
import { parseActions, parseOperator, parseVariables } from './specs.js';
import type { Directive, SecLangProblem, Source } from './types.js';

export interface ParseResult {
  readonly directives: Directive[];
  readonly problems: SecLangProblem[];
  /** Every file read, in order (for reload-on-change and for messages). */
  readonly files: string[];
}

/** Engine settings the parser passes through as `setting` directives; the compiler interprets them. */
const SETTINGS = new Set(
  [
    'SecRuleEngine',
    'SecRequestBodyAccess',
    'SecRequestBodyLimit',
    'SecRequestBodyNoFilesLimit',
    'SecRequestBodyLimitAction',
    'SecRequestBodyInMemoryLimit',
    'SecRequestBodyJsonDepthLimit',
    'SecResponseBodyAccess',
    'SecResponseBodyMimeType',
    'SecResponseBodyMimeTypesClear',
    'SecResponseBodyLimit',
    'SecResponseBodyLimitAction',
    'SecArgumentsLimit',
    'SecArgumentSeparator',
    'SecComponentSignature',
    'SecCollectionTimeout',
    'SecAuditEngine',
    'SecAuditLog',
    'SecAuditLogParts',
    'SecAuditLogFormat',
    'SecAuditLogType',
    'SecAuditLogRelevantStatus',
    'SecAuditLogStorageDir',
    'SecDebugLog',
    'SecDebugLogLevel',
    'SecTmpDir',
    'SecDataDir',
    'SecUploadDir',
    'SecUploadKeepFiles',
    'SecUploadFileLimit',
    'SecUploadFileMode',
    'SecPcreMatchLimit',
    'SecPcreMatchLimitRecursion',
    'SecUnicodeMapFile',
    'SecStatusEngine',
    'SecServerSignature',
    'SecTmpSaveUploadedFiles',
    'SecCookieFormat',
    'SecWebAppId',
  ].map((s) => s.toLowerCase()),
);

const MAX_INCLUDE_DEPTH = 16;

export function parseSecLangFile(path: string): ParseResult {
  const result: ParseResult = { directives: [], problems: [], files: [] };
  includeFile(resolve(path), result, 0, { file: path, line: 0 });
  return result;
}

/** Parses text held in memory (tests, inline rules from bulwark.yaml); Include resolves against `baseDir`. */
export function parseSecLang(text: string, file: string, baseDir = process.cwd()): ParseResult {
  const result: ParseResult = { directives: [], problems: [], files: [] };
  parseInto(text, file, baseDir, result, 0);
  return result;
}

function includeFile(path: string, result: ParseResult, depth: number, from: Source): void {
  let text: string;
  try {
    text = readFileSync(path, 'latin1');
  } catch (err) {
    const why = (err as NodeJS.ErrnoException).code === 'ENOENT' ? 'file not found' : (err as Error).message;
    result.problems.push({ file: from.file, line: from.line, directive: 'Include', message: `${path}: ${why}` });
    return;
  }
  result.files.push(path);
  parseInto(text, path, dirname(path), result, depth);
}

function parseInto(text: string, file: string, baseDir: string, result: ParseResult, depth: number): void {
  for (const { text: lineText, line } of logicalLines(text)) {
    const source = { file, line };
    const split = splitArguments(lineText);
    const directiveName = lineText.split(/[ \t]/, 1)[0]!;
    const problem = (message: string): void => {
      result.problems.push({ file, line, directive: directiveName, message });
    };
    if ('error' in split) {
      problem(split.error);
      continue;
    }
    const [name = '', ...args] = split.words;
    const lower = name.toLowerCase();
    switch (lower) {
      case 'secrule': {
        if (args.length < 2 || args.length > 3) {
          problem(`expected 2 or 3 arguments (VARIABLES "OPERATOR" "ACTIONS"), got ${args.length}`);
          break;
        }
        const variables = parseVariables(args[0]!);
        const operator = parseOperator(args[1]!);
        const actions = parseActions(args[2] ?? '');
        if (!variables.ok) problem(`variables: ${variables.error}`);
        else if (!operator.ok) problem(`operator: ${operator.error}`);
        else if (!actions.ok) problem(`actions: ${actions.error}`);
        else
          result.directives.push({
            kind: 'rule',
            source,
            variables: variables.value,
            operator: operator.value,
            actions: actions.value,
          });
        break;
      }
      case 'secaction':
      case 'secdefaultaction': {
        if (args.length !== 1) {
          problem(`expected 1 argument (the action list), got ${args.length}`);
          break;
        }
        const actions = parseActions(args[0]!);
        if (!actions.ok) problem(`actions: ${actions.error}`);
        else
          result.directives.push({
            kind: lower === 'secaction' ? 'action' : 'default-action',
            source,
            actions: actions.value,
          });
        break;
      }
      case 'secmarker':
        if (args.length !== 1) problem(`expected 1 argument (the marker name), got ${args.length}`);
        else result.directives.push({ kind: 'marker', source, name: args[0]! });
        break;
      case 'secruleremovebyid':
      case 'secruleremovebytag':
      case 'secruleremovebymsg': {
        if (args.length === 0) problem('expected at least one argument');
        else result.directives.push({ kind: 'remove', source, by: removeKind(lower), args });
        break;
      }
      case 'secruleupdatetargetbyid':
      case 'secruleupdatetargetbytag':
      case 'secruleupdatetargetbymsg': {
        if (args.length < 2 || args.length > 3) {
          problem(`expected 2 arguments (SELECTOR "VARIABLES"), got ${args.length}`);
          break;
        }
        const variables = parseVariables(args[1]!);
        if (!variables.ok) problem(`variables: ${variables.error}`);
        else
          result.directives.push({
            kind: 'update-target',
            source,
            by: removeKind(lower),
            selector: args[0]!,
            variables: variables.value,
          });
        break;
      }
      case 'secruleupdateactionbyid': {
        if (args.length !== 2) {
          problem(`expected 2 arguments (ID "ACTIONS"), got ${args.length}`);
          break;
        }
        const actions = parseActions(args[1]!);
        if (!actions.ok) problem(`actions: ${actions.error}`);
        else result.directives.push({ kind: 'update-action', source, id: args[0]!, actions: actions.value });
        break;
      }
      case 'include': {
        if (args.length !== 1) {
          problem(`expected 1 argument (a path or glob), got ${args.length}`);
          break;
        }
        if (depth >= MAX_INCLUDE_DEPTH) {
          problem(`includes nested deeper than ${MAX_INCLUDE_DEPTH} (a loop?)`);
          break;
        }
        const pattern = isAbsolute(args[0]!) ? args[0]! : join(baseDir, args[0]!);
        const paths = expandGlob(pattern);
        if (paths.length === 0) problem(`${pattern}: no file matches`);
        for (const p of paths) includeFile(p, result, depth + 1, source);
        break;
      }
      default:
        if (SETTINGS.has(lower)) result.directives.push({ kind: 'setting', source, name: lower, args });
        else problem(`unknown directive "${name}"`);
    }
  }
}

function removeKind(directive: string): 'id' | 'tag' | 'msg' {
  if (directive.endsWith('id')) return 'id';
  return directive.endsWith('tag') ? 'tag' : 'msg';
}

/** Apache's Include accepts wildcards in the last path component; files are taken in name order. */
export function expandGlob(pattern: string): string[] {
  const name = basename(pattern);
  if (!/[*?[]/.test(name)) {
    try {
      return statSync(pattern).isFile() ? [pattern] : [];
    } catch {
      return [];
    }
  }
  const dir = dirname(pattern);
  const re = new RegExp(
    '^' +
      name
        .replace(/[.+^${}()|\\]/g, '\\$&')
        .replace(/\*/g, '[^/]*')
        .replace(/\?/g, '[^/]') +
      '$',
  );
  let entries: string[];
  try {
    entries = readdirSync(dir);
  } catch {
    return [];
  }
  return entries
    .filter((e) => re.test(e))
    .sort()
    .map((e) => join(dir, e))
    .filter((p) => statSync(p).isFile());
}
