/**
 * Schema validation with ajv, turned into operator-readable problems. ajv reports a failed union as one error per
 * branch; those are folded into one message using the schema's `errorHint`, so `timeout: 5 seconds` reads
 * "expected a duration such as ..." instead of three lines about strings, patterns and integers.
 */
import type { TSchema } from '@sinclair/typebox';
import { Ajv, type ErrorObject, type ValidateFunction } from 'ajv';
import type { ConfigProblem } from './errors.js';
import { formatPath } from './errors.js';
import { keyPositionOf, positionOf, type ParsedYaml } from './yaml.js';

/** Validates a parsed document in place (ajv fills defaults); every problem, or none. Compiled on first use. */
export function compileValidator(schema: TSchema): (parsed: ParsedYaml, file: string) => ConfigProblem[] {
  let compiled: ValidateFunction | undefined;
  return (parsed, file) => {
    if (!compiled) {
      const ajv = new Ajv({ allErrors: true, useDefaults: true, strict: true, allowUnionTypes: true, verbose: true });
      ajv.addKeyword({ keyword: 'errorHint', schemaType: 'string' });
      compiled = ajv.compile(schema);
    }
    return validateWith(compiled, parsed, file);
  };
}

function pointerToPath(pointer: string): Array<string | number> {
  if (pointer === '') return [];
  return pointer
    .slice(1)
    .split('/')
    .map((s) => s.replace(/~1/g, '/').replace(/~0/g, '~'))
    .map((s) => (/^\d+$/.test(s) ? Number(s) : s));
}

function describe(e: ErrorObject): string {
  const p = e.params as Record<string, unknown>;
  switch (e.keyword) {
    case 'additionalProperties':
      return `unknown property "${String(p.additionalProperty)}"`;
    case 'required':
      return `missing required property "${String(p.missingProperty)}"`;
    case 'type':
      return `expected ${String(p.type)}`;
    case 'const':
      return `expected ${JSON.stringify(p.allowedValue)}`;
    case 'pattern':
      return `does not match the expected form ${String(p.pattern)}`;
    case 'minItems':
      return `needs at least ${String(p.limit)} item(s)`;
    case 'minimum':
    case 'maximum':
    case 'minLength':
    case 'maxLength':
    case 'uniqueItems':
      return String(e.message);
    default:
      return String(e.message);
  }
}

function validateWith(validate: ValidateFunction, parsed: ParsedYaml, file: string): ConfigProblem[] {
  const value = parsed.value;
  if (validate(value)) return [];
  const errors = validate.errors ?? [];

  // Fold union failures: for each anyOf error keep one message, drop the branch errors beneath it.
  const unions = errors.filter((e) => e.keyword === 'anyOf');
  const folded = errors.filter((e) => {
    if (e.keyword === 'anyOf') return true;
    return !unions.some(
      (u) =>
        e.schemaPath.startsWith(u.schemaPath.slice(0, -'/anyOf'.length) + '/anyOf/') &&
        (e.instancePath === u.instancePath || e.instancePath.startsWith(u.instancePath + '/')),
    );
  });
  // Nested unions: keep only the innermost anyOf of a given instance path.
  const outerDropped = folded.filter(
    (e) =>
      e.keyword !== 'anyOf' ||
      !folded.some(
        (o) =>
          o !== e &&
          o.keyword === 'anyOf' &&
          o.instancePath === e.instancePath &&
          o.schemaPath.length > e.schemaPath.length &&
          o.schemaPath.startsWith(e.schemaPath.slice(0, -'/anyOf'.length)),
      ),
  );

  const problems: ConfigProblem[] = [];
  const seen = new Set<string>();
  for (const e of outerDropped) {
    const path = pointerToPath(e.instancePath);
    let message: string;
    let pos: { line: number; col: number };
    let pathText = formatPath(path);
    if (e.keyword === 'anyOf') {
      const hint = (e.parentSchema as { errorHint?: string } | undefined)?.errorHint;
      const options = (e.parentSchema as { anyOf?: Array<{ const?: unknown }> } | undefined)?.anyOf ?? [];
      const consts = options.every((o) => o.const !== undefined) ? options.map((o) => JSON.stringify(o.const)) : [];
      const got = JSON.stringify(valueAt(value, path));
      message = `got ${got}; expected ${hint ?? (consts.length ? `one of ${consts.join(', ')}` : 'a value of another form')}`;
      pos = positionOf(parsed, path);
    } else if (e.keyword === 'additionalProperties') {
      const key = String((e.params as { additionalProperty: string }).additionalProperty);
      pos = keyPositionOf(parsed, path, key);
      pathText = formatPath([...path, key]);
      message = `unknown property "${key}"; remove it or check its spelling`;
    } else {
      pos = positionOf(parsed, path);
      message = describe(e);
      if (e.keyword === 'pattern' || e.keyword === 'type') {
        const hint = (e.parentSchema as { errorHint?: string } | undefined)?.errorHint;
        if (hint) message = `got ${JSON.stringify(valueAt(value, path))}; expected ${hint}`;
      }
    }
    const key = `${pos.line}:${pos.col}:${pathText}:${message}`;
    if (seen.has(key)) continue;
    seen.add(key);
    problems.push({ file, line: pos.line, col: pos.col, path: pathText, message });
  }
  return problems;
}

function valueAt(root: unknown, path: ReadonlyArray<string | number>): unknown {
  let v: unknown = root;
  for (const s of path) {
    if (v === null || typeof v !== 'object') return undefined;
    v = (v as Record<string | number, unknown>)[s];
  }
  return v;
}
