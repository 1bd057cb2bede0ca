/**
 * Reads, substitutes, validates and checks a configuration file, returning every problem at once. Generic over the
 * schema: the whole bulwark.yaml is composed above the capabilities (src/bulwark-config.ts) and bound here.
 */
import { readFileSync } from 'node:fs';
import { dirname, resolve } from 'node:path';
import type { TSchema } from '@sinclair/typebox';
import { DEFAULT_CONFIG_YAML } from './default.js';
import type { ConfigProblem } from './errors.js';
import { formatPath } from './errors.js';
import { compileValidator } from './validate.js';
import { parseYaml, positionOf } from './yaml.js';

/** Checks beyond the schema; `report` places each problem at its node's line and column. */
export type ConfigCheck<C> = (
  config: C,
  baseDir: string,
  report: (path: ReadonlyArray<string | number>, message: string) => void,
) => void;

export interface LoadedDocument<C> {
  readonly config: C;
  /** The file it came from, or "<default>". */
  readonly file: string;
  /** Relative paths in the config (certificates) resolve against this. */
  readonly baseDir: string;
  /** The source text, kept so a reload can tell whether anything changed. */
  readonly source: string;
}

export type DocumentResult<C> = { ok: true; loaded: LoadedDocument<C> } | { ok: false; problems: ConfigProblem[] };

export interface ConfigLoader<C> {
  loadText(text: string, file: string, baseDir: string, env?: NodeJS.ProcessEnv): DocumentResult<C>;
  /** The embedded default when `path` is undefined. */
  loadFile(path: string | undefined, env?: NodeJS.ProcessEnv): DocumentResult<C>;
}

export function createConfigLoader<C>(schema: TSchema, check: ConfigCheck<C>): ConfigLoader<C> {
  const validate = compileValidator(schema);
  const loadText = (text: string, file: string, baseDir: string, env: NodeJS.ProcessEnv = process.env) =>
    loadConfigText(text, file, baseDir, env, validate, check);
  const loadFile = (path: string | undefined, env: NodeJS.ProcessEnv = process.env): DocumentResult<C> => {
    if (path === undefined) return loadText(DEFAULT_CONFIG_YAML, '<default>', process.cwd(), env);
    let text: string;
    try {
      text = readFileSync(path, 'utf8');
    } catch (e) {
      const reason = (e as NodeJS.ErrnoException).code === 'ENOENT' ? 'file not found' : (e as Error).message;
      return { ok: false, problems: [{ file: path, line: 0, col: 0, path: '', message: reason }] };
    }
    return loadText(text, path, dirname(resolve(path)), env);
  };
  return { loadText, loadFile };
}

function loadConfigText<C>(
  text: string,
  file: string,
  baseDir: string,
  env: NodeJS.ProcessEnv,
  validate: ReturnType<typeof compileValidator>,
  check: ConfigCheck<C>,
): DocumentResult<C> {
  const { parsed, problems } = parseYaml(text, file, env);
  if (!parsed) return { ok: false, problems };
  if (parsed.value === null || typeof parsed.value !== 'object' || Array.isArray(parsed.value)) {
    return {
      ok: false,
      problems: [
        ...problems,
        { file, line: 1, col: 1, path: '', message: 'the file must be a mapping with listeners, routes and pools' },
      ],
    };
  }
  problems.push(...validate(parsed, file));
  // Cross-reference checks run even when the schema failed, so one pass shows every mistake. They read the
  // document defensively; a shape the schema already refused can make them throw, which is then ignored.
  try {
    check(parsed.value as C, baseDir, (path, message) => {
      const pos = positionOf(parsed, path);
      problems.push({ file, line: pos.line, col: pos.col, path: formatPath(path), message });
    });
  } catch {
    // the schema problems already describe what is wrong here
  }
  if (problems.length > 0) return { ok: false, problems: onePerPath(problems) };
  return { ok: true, loaded: { config: parsed.value as C, file, baseDir, source: text } };
}

/** A missing \${VAR} also fails the schema (empty string); the first, most precise problem per path wins. */
function onePerPath(problems: ConfigProblem[]): ConfigProblem[] {
  const seen = new Set<string>();
  return problems
    .filter((p) => {
      const key = p.path || `${p.line}:${p.col}`;
      if (seen.has(key)) return false;
      seen.add(key);
      return true;
    })
    .sort((a, b) => a.line - b.line || a.col - b.col);
}
