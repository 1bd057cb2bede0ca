/**
 * A new capability is its folder plus one registry line: this test registers a fixture stage the way a line in
 * src/stages.ts would (registerStage), with no edit anywhere else, and checks that it gets config validation with
 * file:line, its place in the order, the pipeline's metrics, and security events in the admin API.
 */
import { readFileSync } from 'node:fs';
import { after, test } from 'node:test';
import assert from 'node:assert/strict';
import { Type, type Static } from '@sinclair/typebox';
import { formatProblem } from './config/index.js';
import { loadConfigText } from './bulwark-config.js';
import { recordEvent } from './observability/index.js';
import { end, routeStageModule, CONTINUE, type Exchange, type Stage, type Verdict } from './pipeline/index.js';
import { registeredStages, registerStage } from './stages.js';
import { request, scratchDir, startGateway, startOrigin, testYaml } from './testing/harness.js';

const TOKEN = 'fixture-admin-token-0123456789';

const NeedHeaderSchema = Type.Object(
  { header: Type.String({ minLength: 1, description: 'A header every request must carry (lower case).' }) },
  { additionalProperties: false },
);
type NeedHeaderConfig = Static<typeof NeedHeaderSchema>;

/** Requests that reached the fixture, by route: proves which stages ran before it. */
const seen: string[] = [];

class NeedHeaderStage implements Stage {
  readonly name = 'need-header';
  private readonly missing: Verdict;
  constructor(
    private readonly header: string,
    private readonly route: string,
  ) {
    this.missing = end(400, 'need-header:missing', `The ${header} header is required.`);
  }

  onRequestHeaders(x: Exchange): Verdict {
    seen.push(x.request.path);
    if (x.request.headers[this.header] !== undefined) return CONTINUE;
    recordEvent({
      type: 'need-header',
      request_id: x.id,
      route: this.route,
      client: x.client.address,
      action: 'refused',
      header: this.header,
    });
    return this.missing;
  }
}

const needHeader = routeStageModule<NeedHeaderConfig>({
  name: 'need-header',
  routeSchema: NeedHeaderSchema,
  check(config, at, ctx) {
    if (typeof config.header === 'string' && config.header !== config.header.toLowerCase())
      ctx.report([...at, 'header'], `write the header name in lower case: "${config.header.toLowerCase()}"`);
  },
  create: (config, deps) => new NeedHeaderStage(config.header, deps.routeName),
});

const unregister = registerStage(needHeader, { after: 'access' });
after(() => unregister());

function yaml(origin: string, stages: string): string {
  return `
listeners:
  - { name: public, address: "127.0.0.1:0" }
admin: { address: "127.0.0.1:0", token: "${TOKEN}" }
pools:
  main: { origins: [{ url: "${origin}" }] }
routes:
  - name: guarded
    pool: main
    stages:
${stages}
`;
}

test('a registered stage sits where its line says, between access and ratelimit', () => {
  const names = registeredStages().map((m) => m.name);
  assert.equal(names.indexOf('need-header'), names.indexOf('access') + 1);
  assert.equal(names.indexOf('ratelimit'), names.indexOf('need-header') + 1);
});

test('its config is validated by its schema and its own check, with file:line', () => {
  const dir = scratchDir();
  const wrongType = loadConfigText(
    testYaml(yaml('http://127.0.0.1:9', '      need-header: { header: 5, extra: 1 }')),
    'f.yaml',
    dir,
  );
  assert.equal(wrongType.ok, false);
  const text = wrongType.ok ? '' : wrongType.problems.map(formatProblem).join('\n');
  assert.match(text, /^f\.yaml:11:\d+ routes\[0\]\.stages\["need-header"\]\.header: /m);
  assert.match(text, /unknown property "extra"/);
  const upper = loadConfigText(
    testYaml(yaml('http://127.0.0.1:9', '      need-header: { header: X-Tenant }')),
    'f.yaml',
    dir,
  );
  assert.equal(upper.ok, false);
  assert.match(
    upper.ok ? '' : upper.problems.map(formatProblem).join('\n'),
    /^f\.yaml:11:\d+ routes\[0\]\.stages\["need-header"\]\.header: write the header name in lower case: "x-tenant"$/m,
  );
});

test('it runs in order on a live gateway, and its refusals reach the metrics and the events', async () => {
  const origin = await startOrigin('o');
  const gw = await startGateway(
    yaml(
      origin.url,
      [
        '      access: { rules: [{ action: deny, paths: [/internal] }] }',
        '      need-header: { header: x-tenant }',
        '      ratelimit: { rules: [{ name: tiny, key: [client], rate: 1/m, burst: 1 }] }',
      ].join('\n'),
    ),
  );
  try {
    const pipeline = gw.node.gateway.runtime.pipelines[0]!;
    assert.deepEqual(
      pipeline.stages.map((s) => s.name),
      ['bans', 'access', 'need-header', 'ratelimit', 'challenge'],
    );
    seen.length = 0;
    // access refuses first: the fixture never sees the request.
    assert.equal((await request(`${gw.url}/internal`)).status, 403);
    assert.deepEqual(seen, []);
    // The fixture refuses before ratelimit spends anything of the one request a minute allowed.
    const refused = await request(`${gw.url}/a`);
    assert.equal(refused.status, 400);
    assert.equal((JSON.parse(refused.body) as { code: string }).code, 'need-header:missing');
    assert.equal((await request(`${gw.url}/b`, { headers: { 'x-tenant': 't1' } })).status, 200);
    assert.equal((await request(`${gw.url}/c`, { headers: { 'x-tenant': 't1' } })).status, 429);
    assert.deepEqual(seen, ['/a', '/b', '/c']);
    assert.equal(origin.seen.length, 1);

    const auth = { authorization: `Bearer ${TOKEN}` };
    const metrics = (await request(`${gw.adminUrl}/metrics`, { headers: auth })).body;
    assert.match(
      metrics,
      /bulwark_pipeline_stage_outcomes_total\{stage="need-header",reason="need-header:missing"\} 1\b/,
    );
    const events = JSON.parse((await request(`${gw.adminUrl}/v1/events?type=need-header`, { headers: auth })).body) as {
      events: Array<{ type: string; route: string; request_id: string; header: string }>;
    };
    assert.equal(events.events.length, 1);
    const event = events.events[0]!;
    assert.deepEqual([event.type, event.route, event.header], ['need-header', 'guarded', 'x-tenant']);
    assert.equal(event.request_id, refused.headers['x-request-id']);
  } finally {
    await gw.close();
    await origin.close();
  }
});

test('docs order table follows the registry', () => {
  const doc = readFileSync(new URL('../docs/stages.md', import.meta.url), 'utf8');
  const table = doc.slice(doc.indexOf('## The order'));
  const documented = [...table.matchAll(/^\| `([a-z-]+)` +\|/gm)].map((m) => m[1]);
  assert.deepEqual(
    documented,
    registeredStages()
      .map((m) => m.name)
      .filter((n) => n !== 'need-header'),
  );
});
