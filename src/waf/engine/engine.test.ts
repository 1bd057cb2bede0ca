import { test } from 'node:test';
import assert from 'node:assert/strict';
import { parseSecLang } from '../seclang/parser.js';
import { compileRuleSet, type RuleSet } from './compile.js';
import { Transaction } from './transaction.js';
import type { RequestInfo } from './request-data.js';

function ruleSet(text: string): RuleSet {
  const parsed = parseSecLang(text, 'test.conf');
  assert.deepEqual(parsed.problems, []);
  const compiled = compileRuleSet(parsed.directives);
  if (!compiled.ok) assert.fail(compiled.problems.map((p) => `${p.line}: ${p.message}`).join('\n'));
  return compiled.ruleSet;
}

function get(uri: string, headers: [string, string][] = [['Host', 'example.com']]): RequestInfo {
  return { method: 'GET', uri, protocol: 'HTTP/1.1', headers, clientAddress: '192.0.2.1', clientPort: 5000 };
}

function run(rs: RuleSet, req: RequestInfo, body?: string): Transaction {
  const tx = new Transaction(rs, 'id-1');
  if (!tx.processRequestHeaders(req)) tx.processRequestBody(body);
  return tx;
}

test('a rule matches an argument after its transformations and denies with its status', () => {
  const rs = ruleSet(`
SecRule ARGS "@rx <script" "id:1,phase:2,deny,status:406,t:none,t:urlDecodeUni,t:lowercase,msg:'xss in %{MATCHED_VAR_NAME}',capture,logdata:'%{TX.0}'"
`);
  const tx = run(rs, get('/?q=%3CSCRIPT%3E'));
  assert.deepEqual(tx.interruption, { ruleId: 1, action: 'deny', status: 406, location: undefined });
  assert.equal(tx.matches[0]!.msg, 'xss in ARGS:q');
  assert.equal(tx.matches[0]!.data, '<script');
  assert.equal(run(rs, get('/?q=hello')).interruption, undefined);
});

test('DetectionOnly logs the match but never interrupts', () => {
  const rs = ruleSet(`SecRuleEngine DetectionOnly
SecRule REQUEST_FILENAME "@contains /admin" "id:2,phase:1,deny,msg:'admin'"`);
  const tx = run(rs, get('/admin/x'));
  assert.equal(tx.interruption, undefined);
  assert.deepEqual(
    tx.matches.map((m) => m.id),
    [2],
  );
});

test('chains need every link; setvar with macros accumulates a score; skipAfter jumps to its marker', () => {
  const rs = ruleSet(`
SecAction "id:10,phase:1,pass,nolog,setvar:tx.score=0"
SecRule REQUEST_METHOD "@streq GET" "id:11,phase:1,pass,nolog,chain"
  SecRule &REQUEST_HEADERS:X-Test "@eq 1" "setvar:'tx.score=+%{tx.five}'"
SecAction "id:12,phase:1,pass,nolog,setvar:tx.five=5"
SecRule TX:score "@lt 1" "id:13,phase:1,pass,nolog,skipAfter:END"
SecRule TX:score "@ge 5" "id:14,phase:1,deny,msg:'score %{tx.score}'"
SecMarker END
`);
  // tx.five is unset when 11 runs: +0, so the score stays below 1 and 14 is skipped.
  assert.equal(
    run(
      rs,
      get('/', [
        ['Host', 'h'],
        ['X-Test', '1'],
      ]),
    ).interruption,
    undefined,
  );
  const rs2 = ruleSet(`
SecAction "id:10,phase:1,pass,nolog,setvar:tx.score=0,setvar:tx.five=5"
SecRule REQUEST_METHOD "@streq GET" "id:11,phase:1,pass,nolog,chain"
  SecRule &REQUEST_HEADERS:X-Test "@eq 1" "setvar:'tx.score=+%{tx.five}'"
SecRule TX:score "@lt 1" "id:13,phase:1,pass,nolog,skipAfter:END"
SecRule TX:score "@ge 5" "id:14,phase:1,deny,msg:'score %{tx.score}'"
SecMarker END
`);
  const tx = run(
    rs2,
    get('/', [
      ['Host', 'h'],
      ['X-Test', '1'],
    ]),
  );
  assert.equal(tx.interruption?.ruleId, 14);
  assert.equal(tx.matches.at(-1)!.msg, 'score 5');
  assert.equal(run(rs2, get('/', [['Host', 'h']])).interruption, undefined, 'without the header the chain fails');
});

test('exclusions: !ARGS:name in the target list, SecRuleUpdateTargetById, ctl:ruleRemoveTargetById', () => {
  const rs = ruleSet(`
SecRule ARGS|!ARGS:safe "@contains evil" "id:20,phase:2,deny"
SecRule ARGS "@contains bad" "id:21,phase:2,deny"
SecRuleUpdateTargetById 21 "!ARGS:ok"
SecRule REQUEST_FILENAME "@streq /upload" "id:22,phase:1,pass,nolog,ctl:ruleRemoveTargetById=23;ARGS:file"
SecRule ARGS "@contains worse" "id:23,phase:2,deny"
`);
  assert.equal(run(rs, get('/?safe=evil')).interruption, undefined);
  assert.equal(run(rs, get('/?other=evil')).interruption?.ruleId, 20);
  assert.equal(run(rs, get('/?ok=bad')).interruption, undefined);
  assert.equal(run(rs, get('/?no=bad')).interruption?.ruleId, 21);
  assert.equal(run(rs, get('/upload?file=worse')).interruption, undefined);
  assert.equal(run(rs, get('/other?file=worse')).interruption?.ruleId, 23);
});

test('ctl:ruleRemoveTargetByTag removes the target from the tagged rules only, chains included', () => {
  const rs = ruleSet(`
SecAction "id:40,phase:1,pass,nolog,ctl:ruleRemoveTargetByTag=perf-skip;ARGS:blob"
SecRule ARGS "@contains evil" "id:41,phase:2,deny,tag:'attack',tag:'perf-skip'"
SecRule ARGS "@contains evil" "id:42,phase:2,deny,tag:'attack'"
SecRule REQUEST_METHOD "@streq GET" "id:43,phase:2,deny,tag:'perf-skip',chain"
  SecRule ARGS "@contains worse" ""
`);
  // 41 skips ARGS:blob; 42 (not tagged) still sees it and denies.
  assert.equal(run(rs, get('/?blob=evil')).interruption?.ruleId, 42);
  assert.equal(run(rs, get('/?other=evil')).interruption?.ruleId, 41);
  // The chain link belongs to tagged rule 43: ARGS:blob is removed there too.
  assert.equal(run(rs, get('/?blob=worse')).interruption, undefined);
  assert.equal(run(rs, get('/?other=worse')).interruption?.ruleId, 43);
});

test('rules share views and prefilter answers whatever order they list targets in and whatever a ctl removed', () => {
  const rs = ruleSet(`
SecAction "id:50,phase:1,pass,nolog,ctl:ruleRemoveTargetByTag=perf-skip;ARGS:blob"
SecRule ARGS|REQUEST_HEADERS:X-A "@rx alpha" "id:51,phase:2,pass,log,tag:'perf-skip'"
SecRule REQUEST_HEADERS:X-A|ARGS "@rx beta" "id:52,phase:2,pass,log,tag:'perf-skip'"
SecRule REQUEST_HEADERS:X-A|ARGS "@rx gamma" "id:53,phase:2,pass,log"
SecRule ARGS|REQUEST_HEADERS:X-A "@rx beta" "id:54,phase:2,pass,log"
`);
  const matched = (req: RequestInfo) => run(rs, req).matches.map((m) => `${m.id} ${m.variable}`);
  // 51 finds no alpha first; the answer it leaves must still let 52 and 54 see beta.
  assert.deepEqual(matched(get('/?q=beta')), ['52 ARGS:q', '54 ARGS:q']);
  // ARGS:blob is removed from the tagged rules only, in either order of targets.
  assert.deepEqual(matched(get('/?blob=beta')), ['54 ARGS:blob']);
  assert.deepEqual(matched(get('/?blob=alpha&q=gamma')), ['53 ARGS:q']);
  const withHeader = get('/?q=x', [
    ['Host', 'example.com'],
    ['X-A', 'alpha beta'],
  ]);
  assert.deepEqual(matched(withHeader), ['51 REQUEST_HEADERS:X-A', '52 REQUEST_HEADERS:X-A', '54 REQUEST_HEADERS:X-A']);
});

test('answers of pure operators kept with a value serve the next request with the same value, captures included', () => {
  const rs = ruleSet(`
SecRule REQUEST_HEADERS:X-A "@rx (a+)(b)" "id:70,phase:1,pass,log,t:lowercase,capture,logdata:'%{TX.1}-%{TX.2}'"
SecRule REQUEST_HEADERS:X-A "@rx aab" "id:71,phase:1,pass,log,t:lowercase"
SecRule REQUEST_HEADERS:X-A "@pm zzz" "id:72,phase:1,pass,log,t:lowercase"
`);
  const req = (value: string) =>
    get('/', [
      ['Host', 'example.com'],
      ['X-A', value],
    ]);
  for (let i = 0; i < 3; i++) {
    const tx = run(rs, req('xAAB'));
    assert.deepEqual(
      tx.matches.map((m) => `${m.id}:${m.data}`),
      ['70:aa-b', '71:'],
    );
  }
  assert.deepEqual(
    run(rs, req('ab zzz')).matches.map((m) => `${m.id}:${m.data}`),
    ['70:a-b', '72:'],
  );
});

test('MATCHED_VARS holds every value the rule matched, for a chain link that reads it', () => {
  const rs = ruleSet(`
SecRule ARGS "@rx x" "id:60,phase:2,deny,chain"
  SecRule MATCHED_VARS "@rx xy" ""
SecRule ARGS "@rx z" "id:61,phase:2,deny,chain"
  SecRule MATCHED_VARS_NAMES "@streq ARGS:b" ""
`);
  assert.equal(run(rs, get('/?a=xy&b=x')).interruption?.ruleId, 60);
  assert.equal(run(rs, get('/?a=x&b=x')).interruption, undefined);
  assert.equal(run(rs, get('/?a=z&b=z')).interruption?.ruleId, 61);
  assert.equal(run(rs, get('/?a=z')).interruption, undefined);
});

test('@rx ^.*$ captures the whole value (answered at load, without RE2)', () => {
  const rs = ruleSet(`
SecRule REQUEST_HEADERS_NAMES "@rx ^.*$" "id:50,phase:1,deny,capture,t:none,t:lowercase,chain"
  SecRule TX:0 "@streq x-evil" ""
`);
  const tx = run(
    rs,
    get('/', [
      ['Host', 'h'],
      ['X-Evil', '1'],
    ]),
  );
  assert.equal(tx.interruption?.ruleId, 50);
  assert.equal(
    run(
      rs,
      get('/', [
        ['Host', 'h'],
        ['X-Fine', '1'],
      ]),
    ).interruption,
    undefined,
  );
});

test('operators: @pm is case-insensitive, @within, @validateByteRange, @ipMatch, negation, & counts', () => {
  const rs = ruleSet(`
SecRule REQUEST_HEADERS:User-Agent "@pm nikto sqlmap" "id:30,phase:1,deny"
SecRule REQUEST_METHOD "!@within GET POST" "id:31,phase:1,deny"
SecRule ARGS "@validateByteRange 32-126" "id:32,phase:2,deny"
SecRule REMOTE_ADDR "@ipMatch 198.51.100.0/24" "id:33,phase:1,deny"
SecRule &ARGS "@gt 2" "id:34,phase:2,deny"
`);
  assert.equal(
    run(
      rs,
      get('/', [
        ['Host', 'h'],
        ['User-Agent', 'Mozilla SQLMap/1.0'],
      ]),
    ).interruption?.ruleId,
    30,
  );
  assert.equal(run(rs, { ...get('/'), method: 'DELETE' }).interruption?.ruleId, 31);
  assert.equal(run(rs, get('/?a=%01')).interruption?.ruleId, 32);
  assert.equal(run(rs, { ...get('/'), clientAddress: '198.51.100.7' }).interruption?.ruleId, 33);
  assert.equal(run(rs, get('/?a=1&b=2&c=3')).interruption?.ruleId, 34);
  assert.equal(run(rs, get('/?a=1&b=2')).interruption, undefined);
});

test('bodies: URL-encoded and JSON arguments reach ARGS; a broken JSON body sets REQBODY_ERROR', () => {
  const rs = ruleSet(`
SecRule ARGS:json.user.name "@streq root" "id:40,phase:2,deny"
SecRule ARGS_POST:pw "@streq x y" "id:41,phase:2,deny"
SecRule REQBODY_ERROR "!@eq 0" "id:42,phase:2,deny,msg:'%{REQBODY_ERROR_MSG}'"
`);
  const post = (type: string): RequestInfo => ({
    ...get('/'),
    method: 'POST',
    headers: [
      ['Host', 'h'],
      ['Content-Type', type],
    ],
  });
  assert.equal(run(rs, post('application/json'), '{"user":{"name":"root"}}').interruption?.ruleId, 40);
  assert.equal(run(rs, post('application/x-www-form-urlencoded'), 'pw=x+y').interruption?.ruleId, 41);
  const broken = run(rs, post('application/json'), '{"user":');
  assert.equal(broken.interruption?.ruleId, 42);
  assert.match(broken.matches[0]!.msg, /^JSON parsing error/);
});

test('compile problems name the file and line, and every one is reported', () => {
  const parsed = parseSecLang(
    `SecRule ARGS "@rx a" "id:1,phase:2,pass"
SecRule ARGS "@rx b" "id:1,phase:2,pass"
SecRule ARGZ "@rx c" "id:2,phase:2,pass"
SecRule ARGS "@frobnicate" "id:3,phase:2,pass"
SecRule ARGS "@rx d" "id:4,phase:2,blok"
SecRule ARGS "@rx e" "id:5,phase:2,t:nosuch"`,
    'rules.conf',
  );
  const compiled = compileRuleSet(parsed.directives);
  assert.equal(compiled.ok, false);
  if (compiled.ok) return;
  const lines = compiled.problems.map((p) => `${p.file}:${p.line}: ${p.message}`);
  assert.deepEqual(lines, [
    'rules.conf:2: duplicate id 1 (first at rules.conf:1)',
    'rules.conf:3: unknown variable "ARGZ"',
    'rules.conf:4: operator @frobnicate is not supported by Bulwark',
    'rules.conf:5: unknown action "blok"',
    'rules.conf:6: t:nosuch: unknown transformation',
  ]);
});

test('rules on one TX variable (txKey): value, count, MATCHED_VAR, and a target removed by a ctl', () => {
  const rs = ruleSet(`
SecRule &TX:limit "@eq 0" "id:30,phase:1,pass,nolog,setvar:tx.limit=3"
SecRule &TX:limit "@eq 1" "id:31,phase:1,pass,nolog,setvar:tx.seen_count=1"
SecRule TX:limit "@ge 3" "id:32,phase:1,pass,log,msg:'%{MATCHED_VAR_NAME}=%{MATCHED_VAR}'"
SecRule TX:missing "!@eq 1" "id:33,phase:1,pass,log,msg:'missing'"
SecRule REQUEST_FILENAME "@streq /off" "id:34,phase:1,pass,nolog,ctl:ruleRemoveTargetById=35;TX:limit"
SecRule TX:limit "@eq 3" "id:35,phase:1,pass,log,msg:'still seen'"
`);
  const on = run(rs, get('/on'));
  assert.equal(on.txStore.get('seen_count'), '1');
  assert.deepEqual(
    on.matches.map((m) => [m.id, m.msg]),
    [
      [32, 'TX:limit=3'],
      [35, 'still seen'],
    ],
  );
  assert.deepEqual(
    run(rs, get('/off')).matches.map((m) => m.id),
    [32],
  );
});
