/** Reads, substitutes, validates and checks a configuration file. Returns every problem at once. */
import { readFileSync } from 'node:fs';
import { dirname, resolve } from 'node:path';
import { checkConfig } from './check.js';
import { DEFAULT_CONFIG_YAML } from './default.js';
import type { ConfigProblem } from './errors.js';
import type { Config } from './schema.js';
import { validateSchema } from './validate.js';
import { parseYaml } from './yaml.js';

export interface LoadedConfig {
  readonly config: Config;
  /** The file it came from, or "<default>". */
  readonly file: string;
  /** Relative paths in the config (certificates) resolve against this. */
  readonly baseDir: string;
  /** The source text, kept so a reload can tell whether anything changed. */
  readonly source: string;
}

export type LoadResult = { ok: true; loaded: LoadedConfig } | { ok: false; problems: ConfigProblem[] };

export function loadConfigText(
  text: string,
  file: string,
  baseDir: string,
  env: NodeJS.ProcessEnv = process.env,
): LoadResult {
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
  const schema = validateSchema(parsed, file);
  problems.push(...schema.problems);
  // Cross-reference checks run even when the schema failed, so one pass shows every mistake. They read the
  // document defensively; a shape the schema already refused can make them throw, which is then ignored.
  try {
    problems.push(...checkConfig(parsed.value as Config, parsed, file, baseDir));
  } catch {
    // the schema problems already describe what is wrong here
  }
  if (problems.length > 0) return { ok: false, problems: onePerPath(problems) };
  return { ok: true, loaded: { config: parsed.value as Config, file, baseDir, source: text } };
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

export function loadConfigFile(path: string | undefined, env: NodeJS.ProcessEnv = process.env): LoadResult {
  if (path === undefined) return loadConfigText(DEFAULT_CONFIG_YAML, '<default>', process.cwd(), env);
  let text: string;
  try {
    text = readFileSync(path, 'utf8');
  } catch (e) {
    const reason = (e as NodeJS.ErrnoException).code === 'ENOENT' ? 'file not found' : (e as Error).message;
    return { ok: false, problems: [{ file: path, line: 0, col: 0, path: '', message: reason }] };
  }
  return loadConfigText(text, path, dirname(resolve(path)), env);
}
