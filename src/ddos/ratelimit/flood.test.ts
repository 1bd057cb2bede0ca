// Acceptance line of issue #6: "one attacking address (127.0.0.2) sends as fast as it can on 64 connections to a
// route limited to 100 requests/s per address, while a good client at another address (127.0.0.3) sends 20
// requests/s: the good client sees no error, the origin sees at most the limit from the attacker (within 5%) plus
// the good client's requests, and the attacker gets 429s." The gateway runs as its own process (workers: 0) so
// that the attacking loop here does not share its event loop.
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import http from 'node:http';
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { scratchDir, startOrigin, type TestOrigin } from '../../testing/harness.js';
import { freePort, startCli, waitReady, type Child } from '../../testing/spawn.js';

const RATE = 100;
const BURST = 100;
const ATTACK_MS = 5000;

let origin: TestOrigin;
let child: Child;
let url: string;
const seenFrom = new Map<string, number>();

before(async () => {
  origin = await startOrigin('o', (req, res) => {
    const from = String(req.headers['x-forwarded-for'] ?? '?');
    seenFrom.set(from, (seenFrom.get(from) ?? 0) + 1);
    res.writeHead(200).end('ok');
  });
  const [port, admin] = [await freePort(), await freePort()];
  url = `http://127.0.0.1:${port}`;
  const file = join(scratchDir(), 'bulwark.yaml');
  writeFileSync(
    file,
    `workers: 0
listeners: [{ name: public, address: "127.0.0.1:${port}" }]
admin: { address: "127.0.0.1:${admin}" }
log: { level: warn, access: { enabled: false } }
pools: { main: { origins: [{ url: "${origin.url}" }] } }
routes:
  - name: all
    pool: main
    stages: { ratelimit: { rules: [{ name: per-address, key: [client], rate: ${RATE}/s, burst: ${BURST} }] } }
`,
  );
  child = startCli(file);
  await waitReady(child, `http://127.0.0.1:${admin}`);
});

after(async () => {
  child.kill('SIGKILL');
  await origin.close();
});

test('flood from one address on 64 connections: limited to the rate, a good client unharmed', async () => {
  const attacker = new http.Agent({ keepAlive: true, maxSockets: 64, localAddress: '127.0.0.2' });
  const good = new http.Agent({ keepAlive: true, maxSockets: 4, localAddress: '127.0.0.3' });
  const get = (agent: http.Agent, path: string) =>
    new Promise<number>((resolve) => {
      const req = http.get(`${url}${path}`, { agent }, (res) => {
        res.resume();
        res.on('end', () => resolve(res.statusCode!));
      });
      req.on('error', () => resolve(0));
    });

  const attack = new Map<number, number>();
  const started = Date.now();
  const until = started + ATTACK_MS;
  const attackers = Array.from({ length: 64 }, async () => {
    while (Date.now() < until) {
      const s = await get(attacker, '/a');
      attack.set(s, (attack.get(s) ?? 0) + 1);
    }
  });
  const goodStatuses: number[] = [];
  const goodClient = (async () => {
    const sent: Array<Promise<void>> = [];
    for (let i = 0; Date.now() < until; i++) {
      sent.push(get(good, `/g${i}`).then((s) => void goodStatuses.push(s)));
      await new Promise((r) => setTimeout(r, 1000 / 20));
    }
    await Promise.all(sent);
  })();
  await Promise.all([...attackers, goodClient]);
  const seconds = (Date.now() - started) / 1000;
  attacker.destroy();
  good.destroy();

  const fromAttacker = seenFrom.get('127.0.0.2') ?? 0;
  const fromGood = seenFrom.get('127.0.0.3') ?? 0;
  const bound = (RATE * seconds + BURST) * 1.05;
  console.log(
    `${seconds.toFixed(2)} s: attacker sent ${[...attack.values()].reduce((a, b) => a + b, 0)} ` +
      `(${[...attack].map(([s, n]) => `${s}:${n}`).join(' ')}), origin saw ${fromAttacker} of them ` +
      `(bound ${bound.toFixed(0)}); good client sent ${goodStatuses.length}, origin saw ${fromGood}`,
  );
  assert.ok(goodStatuses.length >= 50, `good client sent only ${goodStatuses.length}`);
  assert.deepEqual(
    goodStatuses.filter((s) => s !== 200),
    [],
    'the good client sees no error',
  );
  assert.equal(fromGood, goodStatuses.length);
  assert.ok((attack.get(429) ?? 0) > 0, 'the attacker gets 429s');
  assert.equal(attack.get(0) ?? 0, 0, 'no attacker connection failed: it was refused by status, not dropped');
  assert.equal(fromAttacker, attack.get(200) ?? 0);
  assert.ok(fromAttacker <= bound, `origin saw ${fromAttacker} from the attacker; bound ${bound.toFixed(0)}`);
  assert.deepEqual([...seenFrom.keys()].sort(), ['127.0.0.2', '127.0.0.3'], 'the origin saw no one else');
});
