// In-process cost of one WAF transaction with CRS PL1 (no sockets): the figure the `waf` suite's rps rests on.
// node bench/waf-engine.mjs [iterations]; prints µs per transaction for each scenario and the 64 KiB worst cases.
import { loadWaf } from '../dist/waf/index.js';

const N = Number(process.argv[2] ?? 2000);
const load = loadWaf({ crs: { paranoia_level: 1 } }, process.cwd());
if (!load.ok) throw new Error(load.problems.join('\n'));
const waf = load.waf;
const profile = waf.profile(undefined);

const browserHeaders = [
  ['Host', 'shop.example.com'],
  ['User-Agent', 'Mozilla/5.0 (X11; Linux x86_64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/131.0 Safari/537.36'],
  ['Accept', 'text/html,application/xhtml+xml,application/xml;q=0.9,image/avif,image/webp,*/*;q=0.8'],
  ['Accept-Language', 'en-GB,en;q=0.9'],
  ['Accept-Encoding', 'gzip, deflate, br'],
  ['Cookie', 'session=4f2a9c1e8b7d6a5f; theme=dark; consent=yes'],
  ['Referer', 'https://shop.example.com/catalog?page=2'],
  ['Connection', 'keep-alive'],
];
const json = JSON.stringify({
  order: {
    id: 'ord_7f3a9c',
    currency: 'EUR',
    amount: 4999,
    items: [
      { sku: 'A-100', qty: 2 },
      { sku: 'B-220', qty: 1 },
    ],
  },
  customer: { email: 'jane.doe@example.com', name: 'Jane Doe', address: '12 Rue de la Paix, 75002 Paris' },
  note: 'Please deliver between 9 and 12, ring twice at the side door. Thanks!',
}).padEnd(600, ' ');

// The origin's page in the HTTP bench (bench/origin.mjs): inspected in phase 4 like there.
const PAGE = `<!doctype html><html><head><title>bench</title></head><body>${'<p>Bulwark benchmark page.</p>'.repeat(18)}</body></html>\n`;

function run(method, uri, headers, body, responseType = 'application/json', responseBody = undefined) {
  const t = waf.transaction('bench', profile);
  const req = { method, uri, protocol: 'HTTP/1.1', headers, clientAddress: '127.0.0.1', clientPort: 40000 };
  let i = t.processRequestHeaders(req);
  if (!i) i = t.processRequestBody(body);
  if (!i) {
    t.processResponseHeaders({ status: 200, protocol: 'HTTP/1.1', headers: [['Content-Type', responseType]] });
    t.processResponseBody(responseBody);
  }
  t.processLogging();
  return t;
}

// As in the HTTP bench, an id changes in every request, so the cross-request memos see what real traffic gives them.
let n = 0;
const scenarios = {
  get: () => run('GET', `/catalog/item?id=${++n}&color=blue&size=m`, browserHeaders, undefined, 'text/html', PAGE),
  post: () =>
    run(
      'POST',
      '/api/orders',
      [...browserHeaders.slice(0, 3), ['Content-Type', 'application/json'], ['Content-Length', String(json.length)]],
      json.replace('ord_7f3a9c', `ord_${String(++n).padStart(6, '0')}`),
    ),
  attack: () => run('GET', '/?id=1%27%20OR%20%271%27=%271', browserHeaders, undefined),
};
for (const [name, fn] of Object.entries(scenarios)) {
  for (let i = 0; i < 200; i++) fn();
  const t0 = performance.now();
  for (let i = 0; i < N; i++) fn();
  const us = ((performance.now() - t0) * 1000) / N;
  const t = fn();
  console.log(
    `waf-engine: ${name} us=${us.toFixed(1)} interrupted=${t.interruption?.ruleId ?? '-'} matches=${t.matches.length}`,
  );
}
const worst = {
  'dash-x': '-x'.repeat(32768),
  backslash: '\\'.repeat(65536),
  quotes: "'".repeat(65536),
  'a-run': 'a'.repeat(65536),
  'lt-run': '<'.repeat(65536),
  'nested-paren': '('.repeat(32768) + ')'.repeat(32768),
  'sql-words': 'select '.repeat(9362),
};
for (const [name, value] of Object.entries(worst)) {
  const body = 'q=' + encodeURIComponent(value);
  const headers = [
    ['Host', 'x'],
    ['Content-Type', 'application/x-www-form-urlencoded'],
    ['Content-Length', String(body.length)],
  ];
  let max = 0;
  for (let i = 0; i < 3; i++) {
    const t0 = performance.now();
    run('POST', '/', headers, body);
    max = Math.max(max, performance.now() - t0);
  }
  console.log(`waf-engine: 64KiB ${name} ms=${max.toFixed(1)}`);
}
