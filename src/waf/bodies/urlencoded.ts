/** application/x-www-form-urlencoded bodies and query strings, decoded as ModSecurity decodes them. */
import { urlDecode } from '../transforms/decode.js';
import type { BodyLimits, ParsedBody } from './types.js';

/** `+` is a space; a `%` not followed by two hex digits is kept as it is. */
export function urlDecodeArg(s: string): string {
  return urlDecode(s);
}

export function parseUrlEncoded(input: string, limits: BodyLimits): ParsedBody {
  const args: [string, string][] = [];
  let start = 0;
  while (start <= input.length) {
    let end = input.indexOf('&', start);
    if (end < 0) end = input.length;
    if (end > start) {
      if (args.length >= limits.maxArgs) {
        return {
          args,
          error: { code: 'too_many_args', message: `Exceeded argument count limit of ${limits.maxArgs}.` },
        };
      }
      const eq = input.indexOf('=', start);
      if (eq < 0 || eq > end) args.push([urlDecode(input.slice(start, end)), '']);
      else args.push([urlDecode(input.slice(start, eq)), urlDecode(input.slice(eq + 1, end))]);
    }
    start = end + 1;
  }
  return { args };
}
