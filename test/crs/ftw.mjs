// go-ftw's request building and stage evaluation, for the CRS regression runner.

/** The raw request of a test stage, byte for byte as go-ftw sends it. */
export function buildRequest(input) {
  if (input.encoded_request) return Buffer.from(input.encoded_request, 'base64');
  const method = input.method ?? 'GET';
  const uri = input.uri ?? '/';
  const version = input.version ?? 'HTTP/1.1';
  const data = input.data === undefined || input.data === null ? '' : String(input.data);
  const headers = Object.entries(input.headers ?? {}).map(([k, v]) => [k, String(v)]);
  const auto = input.autocomplete_headers !== false;
  if (auto) {
    const has = (n) => headers.some(([k]) => k.toLowerCase() === n);
    // go-ftw completes a request with data the way a form post would be sent.
    if (data.length > 0 && !has('content-type')) headers.push(['Content-Type', 'application/x-www-form-urlencoded']);
    // go-ftw adds Content-Length when there is a payload or the method permits one.
    if ((data.length > 0 || ['POST', 'PUT', 'PATCH'].includes(method)) && !has('content-length'))
      headers.push(['Content-Length', String(Buffer.byteLength(data, 'utf8'))]);
    if (!has('connection')) headers.push(['Connection', 'close']);
  }
  const line = version === '' ? `${method} ${uri}` : `${method} ${uri} ${version}`;
  const head = `${line}\r\n${headers.map(([k, v]) => `${k}: ${v}\r\n`).join('')}\r\n`;
  // go-ftw writes Go strings, i.e. the YAML text as UTF-8.
  return Buffer.concat([Buffer.from(head, 'utf8'), Buffer.from(data, 'utf8')]);
}

/** Control bytes as ModSecurity's error log writes them (\xHH), so one match stays on one line. */
function esc(text) {
  let out = '';
  for (const c of String(text)) {
    const code = c.charCodeAt(0);
    out += code < 0x20 || code === 0x7f ? `\\x${code.toString(16).padStart(2, '0')}` : c;
  }
  return out;
}

/** ModSecurity-like log lines built from the stage's WAF events, for match_regex and no_match_regex. */
export function logText(events) {
  const lines = [];
  for (const e of events) {
    for (const m of e.matches ?? []) {
      lines.push(`[id "${m.id}"] [msg "${esc(m.msg)}"] [data "${esc(m.data)}"] [severity "${m.severity ?? ''}"]`);
    }
    for (const err of e.errors ?? []) lines.push(err);
  }
  return lines.join('\n');
}

/** Undefined when the stage passes, else why it failed. */
export function evaluateStage(output, sent, events) {
  const log = output.log ?? {};
  const ids = new Set(events.flatMap((e) => (e.matches ?? []).map((m) => m.id)));
  if (output.expect_error) return sent.error ? undefined : `expected a transport error, got status ${sent.status}`;
  if (sent.error && output.status === undefined && !log.expect_ids) {
    // Some negative tests are refused by the server itself; the log still decides.
  }
  for (const id of log.expect_ids ?? [])
    if (!ids.has(Number(id))) return `rule ${id} did not match (matched: ${[...ids].join(',') || 'none'})`;
  for (const id of log.no_expect_ids ?? []) if (ids.has(Number(id))) return `rule ${id} matched but should not`;
  const text = logText(events);
  if (log.match_regex && !new RegExp(log.match_regex).test(text)) return `log does not match /${log.match_regex}/`;
  if (log.no_match_regex && new RegExp(log.no_match_regex).test(text)) return `log matches /${log.no_match_regex}/`;
  if (output.status !== undefined) {
    const want = Array.isArray(output.status) ? output.status.map(Number) : [Number(output.status)];
    if (!want.includes(sent.status)) return `status ${sent.status ?? sent.error}, expected ${want.join(' or ')}`;
  }
  return undefined;
}
