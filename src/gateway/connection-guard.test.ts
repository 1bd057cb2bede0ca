// Connection caps at accept time: one client address holding its quota of idle connections has the extra ones
// closed at once, counted and reported once; another address is served as usual; closed ones free their slots.
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import net from 'node:net';
import {
  ADMIN_AUTH,
  request,
  startGateway,
  startOrigin,
  type TestGateway,
  type TestOrigin,
} from '../testing/harness.js';

let origin: TestOrigin;
let gw: TestGateway;

before(async () => {
  origin = await startOrigin('o');
  gw = await startGateway(`
listeners: [{ name: public, address: "127.0.0.1:0" }]
limits: { connections_per_client: 3, connections_total: 6 }
pools: { main: { origins: [{ url: "${origin.url}" }] } }
routes: [{ name: all, pool: main }]
`);
});

after(async () => {
  await gw?.close();
  await origin?.close();
});

/** Opens a connection from `from` and says when (and whether) the gateway closed it within `ms`. */
function connect(port: number, from: string, ms = 1000): Promise<{ socket: net.Socket; closed: Promise<boolean> }> {
  return new Promise((resolve, reject) => {
    const socket = net.connect({ port, host: '127.0.0.1', localAddress: from });
    socket.on('error', () => undefined);
    socket.once('connect', () => {
      const closed = new Promise<boolean>((done) => {
        const timer = setTimeout(() => done(false), ms);
        socket.once('close', () => {
          clearTimeout(timer);
          done(true);
        });
      });
      resolve({ socket, closed });
    });
    socket.once('error', reject);
  });
}

test('a fourth connection from one address is closed at once; other addresses are served; slots free up', async () => {
  const held = [];
  for (let i = 0; i < 5; i++) held.push(await connect(gw.port, '127.0.0.2'));
  const closed = await Promise.all(held.map((h) => h.closed));
  assert.deepEqual(closed, [false, false, false, true, true], 'the first three stay, the rest are closed');

  const other = await request(`${gw.url}/`, { localAddress: '127.0.0.3' });
  assert.equal(other.status, 200, 'another address is served');
  await new Promise((r) => setTimeout(r, 100)); // its connection closes and leaves the total

  // Total cap: 3 held by .2, 3 more from .4 fill the listener; a seventh from a fresh address is refused.
  const more = [];
  for (let i = 0; i < 3; i++) more.push(await connect(gw.port, '127.0.0.4'));
  const seventh = await connect(gw.port, '127.0.0.5');
  assert.equal(await seventh.closed, true, 'over the total');

  for (const h of [...held, ...more]) h.socket.destroy();
  await new Promise((r) => setTimeout(r, 100));
  const again = await connect(gw.port, '127.0.0.2');
  assert.equal(await again.closed, false, 'closed connections free their slots');
  again.socket.destroy();

  const metrics = await (await fetch(`${gw.adminUrl}/metrics`)).text();
  assert.match(metrics, /bulwark_gateway_connections_refused_total\{listener="public",reason="per_client"\} 2/);
  assert.match(metrics, /bulwark_gateway_connections_refused_total\{listener="public",reason="total"\} 1/);
  const events = (await (await fetch(`${gw.adminUrl}/v1/events?type=connections`, { headers: ADMIN_AUTH })).json()) as {
    events: { client: string; reason: string; action: string }[];
  };
  const fromTwo = events.events.filter((e) => e.client === '127.0.0.2');
  assert.equal(fromTwo.length, 1, 'one event per address and minute, not one per refused connection');
  assert.equal(fromTwo[0]!.reason, 'per_client');
  assert.equal(fromTwo[0]!.action, 'refused');
});
