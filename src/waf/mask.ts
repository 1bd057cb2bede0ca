/**
 * Secrets never reach events or logs: values of variables whose names say they hold credentials are replaced,
 * and credential-looking query parameters are masked in the URI.
 */
const SECRET_NAME = /pass(word|wd)?|secret|token|api[-_]?key|authori[sz]ation|cookie|session|credential|private/i;

function uri(target: string): string {
  const q = target.indexOf('?');
  if (q < 0) return target;
  const masked = target
    .slice(q + 1)
    .split('&')
    .map((pair) => {
      const eq = pair.indexOf('=');
      return eq > 0 && SECRET_NAME.test(pair.slice(0, eq)) ? `${pair.slice(0, eq)}=***` : pair;
    })
    .join('&');
  return `${target.slice(0, q + 1)}${masked}`;
}

/** The matched value or logdata of a variable such as `ARGS:password` or `REQUEST_HEADERS:Authorization`. */
function text(variable: string, value: string): string {
  const colon = variable.indexOf(':');
  const key = colon < 0 ? '' : variable.slice(colon + 1);
  return SECRET_NAME.test(key) ? '***' : value;
}

export const maskSecrets = { uri, text };
