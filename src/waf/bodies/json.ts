/**
 * JSON bodies flattened into arguments: keys joined with dots under a `json` prefix, array items by index
 * (`json.user.roles.0`), as Coraza names them. Values are the scalar's text; null is empty.
 */
import type { BodyLimits, ParsedBody } from './types.js';
import { fromByteString, toByteString } from './types.js';

/** Nesting depth measured before JSON.parse, so a hostile body cannot exhaust the stack. */
function depthOf(text: string): number {
  let depth = 0;
  let max = 0;
  let inString = false;
  for (let i = 0; i < text.length; i++) {
    const c = text.charCodeAt(i);
    if (inString) {
      if (c === 92) i++;
      else if (c === 34) inString = false;
    } else if (c === 34) inString = true;
    else if (c === 123 || c === 91) max = Math.max(max, ++depth);
    else if (c === 125 || c === 93) depth--;
  }
  return max;
}

export function parseJson(input: string, limits: BodyLimits): ParsedBody {
  const text = fromByteString(input);
  if (depthOf(text) > limits.maxJsonDepth) {
    return {
      args: [],
      error: { code: 'json_depth', message: `JSON parsing error: nesting deeper than ${limits.maxJsonDepth}` },
    };
  }
  let value: unknown;
  try {
    value = JSON.parse(text);
  } catch (err) {
    return { args: [], error: { code: 'json_syntax', message: `JSON parsing error: ${(err as Error).message}` } };
  }
  const args: [string, string][] = [];
  let overflow = false;
  const walk = (v: unknown, name: string): void => {
    if (overflow) return;
    if (Array.isArray(v)) {
      v.forEach((item, i) => walk(item, `${name}.${i}`));
      return;
    }
    if (v !== null && typeof v === 'object') {
      for (const [k, item] of Object.entries(v)) walk(item, `${name}.${toByteString(k)}`);
      return;
    }
    if (args.length >= limits.maxArgs) {
      overflow = true;
      return;
    }
    args.push([name, v === null ? '' : toByteString(String(v))]);
  };
  walk(value, 'json');
  if (overflow) {
    return { args, error: { code: 'too_many_args', message: `Exceeded argument count limit of ${limits.maxArgs}.` } };
  }
  return { args };
}
