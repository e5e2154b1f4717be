// Run-table compilation (WIRE.md §1): the Landlock wall, record layout, and field escaping round-trips.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import {
  compileTable,
  deriveWall,
  evaluate,
  loadPolicy,
  ruleParams,
  type PolicyVars,
  type TableHeader,
} from '../../core/policy/index.js';
import { escapeField, formatTableLine, parseTableLine, unescapeField } from '../../core/wire/table.js';

const dir = mkdtempSync(join(tmpdir(), 'warden-compile-'));
function policyOf(yaml: string) {
  const p = join(dir, `50-p${Math.random().toString(36).slice(2)}.yaml`);
  writeFileSync(p, yaml);
  return loadPolicy([p]);
}
const r = (id: string, decision: string, op: string, paths: string[]) =>
  `  - id: ${id}\n    why: w\n    match: { op: ${op}, path: ${JSON.stringify(paths)} }\n    decision: ${decision}\n`;
const vars: PolicyVars = {
  workspace: '/w/proj',
  home: '/w/home',
  tmp: ['/tmp'],
  state: '/w/home/.local/state/warden',
};
const header = (v: PolicyVars, landlock = true): TableHeader => ({
  run: 7,
  state: v.state,
  socket: `${v.state}/warden.sock`,
  events: `${v.state}/runs/7/events.ndjson`,
  stage: `${v.state}/stage/7`,
  home: v.home,
  workspace: v.workspace,
  preimageMax: 67108864,
  landlock,
});

test('the wall: literal and P/** allow roots of write-type ops, deduplicated, nested roots dropped', () => {
  const p = policyOf(
    'rules:\n' +
      r('deny-first', 'deny', "'*'", ['/w/proj/secret/**']) +
      r('ws', 'allow', "'*'", ['${workspace}/**']) +
      r('inner', 'allow', '[write]', ['${workspace}/sub/**', '/data/x']) +
      r('data', 'allow', '[create]', ['/data/**', '/data/**']) +
      r('tmps', 'allow', '[mkdir]', ['${tmp}/**']) +
      r('rel', 'allow', '[write]', ['**/node_modules/**']) +
      r('mid', 'allow', '[write]', ['/opt/*/bin/**', '/srv/**/x', '/var/log/*.log']) +
      r('reads', 'allow', '[read, exec]', ['/usr/**']) +
      r('denied', 'deny', '[write]', ['/etc/**']) +
      r('asks', 'ask', '[write]', ['/mnt/**']),
  );
  assert.deepEqual(deriveWall(p, { ...vars, tmp: ['/tmp', '/var/tmp'] }), [
    '/w/proj',
    '/data',
    '/tmp',
    '/var/tmp',
  ]);
});

test('the default policy wall holds the workspace, tmp, devices and agent state, not ~ or /', () => {
  const files = ['00-hard-deny', '10-protected', '30-delete', '35-commands', '90-default'].map((b) =>
    join('policies', `${b}.yaml`),
  );
  const wall = deriveWall(loadPolicy(files), vars);
  assert.ok(wall.includes('/w/proj') && wall.includes('/tmp') && wall.includes('/dev/null'));
  assert.ok(wall.includes('/w/home/.claude') && wall.includes('/w/home/.cache'));
  assert.ok(!wall.includes('/') && !wall.includes('/w/home') && !wall.some((w) => w.startsWith('/proc')));
});

test('compileTable: header order, hold settings, rules in order with expanded patterns and params, daemon-only and pending rules left out', () => {
  const p = policyOf(
    'settings: { delete_delay: 750ms, bulk: { count: 9, window: 2s } }\nrules:\n' +
      r('tree-rule', 'deny', '[exec]', []).replace('path: []', "tree: ['~', '${workspace}/..']") +
      r('two', 'steer', '[write, message]', ['/a/{b,c}']) +
      r('msg-only', 'deny', '[message, mcp_call]', ['/m/**']) +
      '  - id: pending\n    why: w\n    match: { op: connect, host: [example.com] }\n    decision: deny\n' +
      '  - id: cmd\n    why: w\n    match: { op: exec, command: { argv: [[git, push, "**"], [x]] } }\n' +
      '    decision: ask\n    timeout: 90s\n    fallback: allow\n' +
      r('all', 'delay', "'*'", ['**']).replace('decision: delay', 'decision: delay\n    delay: 2s'),
  );
  const lines = compileTable(p, vars, header(vars, false)).trimEnd().split('\n');
  const records = lines.filter((l) => !l.startsWith('#')).map((l) => parseTableLine(l));
  assert.deepEqual(
    records.map((x) => x.kind),
    ['warden-table', 'run', 'state', 'socket', 'events', 'stage', 'home', 'workspace', 'preimage_max'].concat(
      ['trash', 'delete_delay_ms', 'ask_timeout_ms', 'bulk', 'idle_ms', 'repeat'],
      ['wall_deny_read', 'rule', 'rule', 'rule', 'rule', 'rule', 'rule', 'rule', 'landlock'],
    ),
  );
  assert.deepEqual(records[0]!.fields, ['1']);
  const get = (k: string) => records.find((x) => x.kind === k)!.fields;
  assert.deepEqual(get('trash'), [`${vars.state}/trash/7`]);
  assert.deepEqual(get('delete_delay_ms'), ['750']);
  assert.deepEqual(get('ask_timeout_ms'), ['300000']);
  assert.deepEqual(get('bulk'), ['9', '2000']);
  assert.deepEqual(get('idle_ms'), ['5000']);
  assert.deepEqual(get('repeat'), ['5']);
  assert.deepEqual(get('wall_deny_read'), [vars.state]);
  assert.deepEqual(
    records.filter((x) => x.kind === 'rule').map((x) => x.fields.join(' ')),
    [
      'tree-rule 50-p deny exec tree /w/home',
      'tree-rule 50-p deny exec tree /w',
      'two 50-p steer write path /a/b',
      'two 50-p steer write path /a/c',
      'cmd 50-p ask exec argv git\x1fpush\x1f** timeout=90000,fallback=allow',
      'cmd 50-p ask exec argv x timeout=90000,fallback=allow',
      'all 50-p delay * path /** delay=2000',
    ].map((s) => s.replace(/50-p/, records.find((x) => x.kind === 'rule')!.fields[1]!)),
  );
  // On the wire the argv separator is escaped, so a rule line stays one line with 8 TAB-separated fields.
  const argvLine = lines.find((l) => l.startsWith('rule\tcmd\t'))!;
  assert.match(argvLine, /\tgit\\x1fpush\\x1f\*\*\ttimeout=90000,fallback=allow$/);
  assert.equal(argvLine.split('\t').length, 8);
  assert.deepEqual(records.at(-1), { kind: 'landlock', fields: ['off'] });
  // An explicit trash dir wins over the default.
  const t = compileTable(p, vars, { ...header(vars), trash: '/elsewhere/trash' });
  assert.match(t, /^trash\t\/elsewhere\/trash$/m);
});

test('ruleParams: only the params a rule sets, in the order delay, timeout, fallback', () => {
  assert.equal(ruleParams({}), null);
  assert.equal(ruleParams({ delayMs: 500 }), 'delay=500');
  assert.equal(ruleParams({ timeoutMs: 60000, fallback: 'deny' }), 'timeout=60000,fallback=deny');
  assert.equal(ruleParams({ fallback: 'allow' }), 'fallback=allow');
});

test('field escaping: backslash, TAB, newline, other controls; round trip', () => {
  assert.equal(escapeField('a\\b\tc\nd\x01e\x7f é'), 'a\\\\b\\tc\\nd\\x01e\x7f é');
  for (const s of [
    '',
    'plain',
    'tab\there',
    'nl\nhere',
    'back\\slash',
    '\\t literal',
    '\x00\x1f',
    'sp ace/é/ü',
  ])
    assert.equal(unescapeField(escapeField(s)), s);
  assert.throws(() => unescapeField('bad\\q'), /bad escape/);
  assert.throws(() => unescapeField('dangling\\'), /bad escape/);
  assert.equal(formatTableLine('wall_write', '/a\tb'), 'wall_write\t/a\\tb');
});

test('a table compiled for paths with tabs, newlines and spaces round-trips and still matches', () => {
  const odd: PolicyVars = {
    workspace: '/w/my proj\twith\ttabs',
    home: '/w/ho\nme',
    tmp: ['/t mp'],
    state: '/w/ho\nme/.local/state/warden',
  };
  const p = policyOf('rules:\n' + r('ws', 'allow', "'*'", ['${workspace}/**', '~/.cache/**']));
  const text = compileTable(p, odd, header(odd));
  const lines = text.trimEnd().split('\n');
  assert.ok(lines.every((l) => !l.includes('\r')) && lines.length === 22, text);
  const rec = lines.filter((l) => !l.startsWith('#')).map((l) => parseTableLine(l));
  const get = (k: string) => rec.filter((x) => x.kind === k).map((x) => x.fields);
  assert.deepEqual(get('workspace'), [[odd.workspace]]);
  assert.deepEqual(get('home'), [[odd.home]]);
  assert.deepEqual(get('wall_write'), [[odd.workspace], [`${odd.home}/.cache`]]);
  assert.deepEqual(get('rule')[0], [
    'ws',
    rec.find((x) => x.kind === 'rule')!.fields[1],
    'allow',
    '*',
    'path',
    `${odd.workspace}/**`,
  ]);
  assert.equal(evaluate(p, odd, { op: 'write', path: `${odd.workspace}/f\tg` }).ruleId, 'ws');
});
