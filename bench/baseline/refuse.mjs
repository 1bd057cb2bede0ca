// The floor for the ddos suite: node:http answering every request with the same 429 problem body, no limiter, no
// log, the answers of one loop turn written together after the poll phase as Bulwark writes its refusals
// (src/gateway/answer-batch.ts). What Bulwark's refusal costs above this is Bulwark's; up to this, Node's.
// Usage: node bench/baseline/refuse.mjs PORT WORKERS
import cluster from 'node:cluster';
import http from 'node:http';
import { setImmediate } from 'node:timers';

const [port, workers] = [Number(process.argv[2]), Number(process.argv[3] ?? 2)];
const BODY = JSON.stringify({
  type: 'about:blank',
  title: 'Too Many Requests',
  status: 429,
  detail: 'Rate limit "per-client" exceeded; retry after 1 s.',
  code: 'ratelimit:per-client',
  request_id: '00000000-0000-4000-8000-000000000000',
});

const HEADERS = {
  'content-type': 'application/problem+json',
  'content-length': Buffer.byteLength(BODY),
  'retry-after': '1',
};
let waiting = [];
function answerAll() {
  const batch = waiting;
  waiting = [];
  for (const res of batch) res.writeHead(429, HEADERS).end(BODY);
}

if (cluster.isPrimary && workers > 1) {
  for (let i = 0; i < workers; i++) cluster.fork();
} else {
  http
    .createServer({ keepAliveTimeout: 65_000 }, (req, res) => {
      if (waiting.push(res) === 1) setImmediate(answerAll);
    })
    .listen(port, '127.0.0.1');
}
