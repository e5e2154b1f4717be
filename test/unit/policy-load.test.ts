// Loading policy files: positions of schema, glob, argv, settings, YAML and duplicate-id errors; band order;
// settings merging and durations; the default policy.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, readdirSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import {
  checkPolicyFiles,
  DEFAULT_SETTINGS,
  formatIssue,
  loadPolicy,
  parseDuration,
  PolicyError,
  policySettings,
  ruleSummary,
} from '../../core/policy/index.js';

const dir = mkdtempSync(join(tmpdir(), 'warden-policy-'));
function file(name: string, text: string): string {
  const p = join(dir, name);
  writeFileSync(p, text);
  return p;
}
const rule = (id: string, extra = '', match = "op: write\n      path: ['/a/**']") =>
  `  - id: ${id}\n    why: because\n    match:\n      ${match}\n    decision: deny\n${extra}`;
const issuesOf = (text: string, name = '50-t.yaml') => checkPolicyFiles([file(name, text)]);
const one = (text: string) => {
  const issues = issuesOf(text);
  assert.equal(issues.length, 1, JSON.stringify(issues));
  return issues[0]!;
};

test('a bad decision is reported at its value', () => {
  const i = one(`rules:\n  - id: x\n    why: w\n    match: { op: write, path: /a }\n    decision: maybe\n`);
  assert.deepEqual([i.line, i.column], [5, 15]);
  assert.match(i.message, /decision/);
});

test('an unknown key is reported at the key', () => {
  const i = one(`rules:\n${rule('x', '    dealy: 2s\n')}`);
  assert.deepEqual([i.line, i.column, i.message], [8, 5, 'unknown key "dealy"']);
  const j = issuesOf(`rules:\n${rule('x', '', "op: write\n      paht: ['/a']")}`);
  assert.deepEqual([j[0]!.line, j[0]!.column, j[0]!.message], [6, 7, 'unknown key "paht"']);
});

test('bad globs are reported at the offending list item or string', () => {
  const i = one(`rules:\n${rule('x', '', "op: write\n      path: ['/ok/**', '/a/+(b|c)']")}`);
  assert.deepEqual([i.line, i.column], [6, 24]);
  assert.match(i.message, /extglob/);
  const bad: [string, RegExp][] = [
    ['!/a', /negated/],
    ['src/**', /relative/],
    ['/a**b', /whole path segment/],
    ['/a/[[:alpha:]]', /not supported/],
    ['/a/[bc', /unclosed \[/],
    ['/a/{b,c', /unbalanced \{/],
    ['${workdir}/x', /unknown variable/],
    ['~user/x', /relative/],
    ['/a/../b', /\.\. segments/],
    ['/a/', /ends with \//],
    ['/a/!(x)', /extglob/],
  ];
  for (const [glob, re] of bad) {
    const k = one(`rules:\n${rule('x', '', `op: write\n      path: '${glob}'`)}`);
    assert.deepEqual([k.line, k.column], [6, 13], glob);
    assert.match(k.message, re, glob);
  }
});

test('a YAML syntax error has its own position', () => {
  const i = one('rules:\n  - id: x\n    why: [unclosed\n');
  assert.equal(i.line, 4);
  assert.ok(i.column >= 1);
  assert.equal(formatIssue(i), `${join(dir, '50-t.yaml')}:${i.line}:${i.column}: ${i.message}`);
});

test('duplicate rule ids are reported at the second one, across files', () => {
  const a = file('10-a.yaml', `rules:\n${rule('same')}`);
  const b = file('20-b.yaml', `rules:\n${rule('other')}${rule('same')}`);
  const issues = checkPolicyFiles([b, a]);
  assert.equal(issues.length, 1);
  assert.deepEqual([issues[0]!.file, issues[0]!.line, issues[0]!.column], [b, 8, 9]);
  assert.match(issues[0]!.message, /duplicate rule id "same" \(first defined at .*10-a\.yaml:2\)/);
  assert.throws(
    () => loadPolicy([a, b]),
    (e: unknown) => e instanceof PolicyError && e.issues.length === 1,
  );
});

test('schema cross-checks: tree needs op exec, timeout needs ask, match needs a matcher', () => {
  assert.match(one(`rules:\n${rule('x', '', "op: write\n      tree: ['~']")}`).message, /only to op exec/);
  assert.match(one(`rules:\n${rule('x', '    timeout: 5m\n')}`).message, /only valid with decision: ask/);
  assert.match(issuesOf(`rules:\n${rule('x', '    delay: 2x\n')}`)[0]!.message, /duration/);
  assert.match(one(`rules:\n${rule('x', '', 'op: write')}`).message, /match needs/);
  assert.match(
    one(`rules:\n${rule('x', '', "op: exec\n      tree: ['/a/*']")}`).message,
    /literal absolute path/,
  );
});

test('files are ordered by band, stably; the file name is the default band', () => {
  const late = file('90-late.yaml', `rules:\n${rule('late')}`);
  const early = file('x.yaml', `band: 05-early\nrules:\n${rule('early')}`);
  const mid1 = file('40-m1.yaml', `rules:\n${rule('m1')}`);
  const mid2 = file('40-m2.yaml', `rules:\n${rule('m2')}`);
  const p = loadPolicy([late, mid2, early, mid1]);
  assert.deepEqual(
    p.rules.map((r) => `${r.band}:${r.id}`),
    ['05-early:early', '40-m2:m2', '40-m1:m1', '90-late:late'],
  );
});

test('a file name that is not a band needs band:', () => {
  const issues = checkPolicyFiles([file('mine.yaml', `rules:\n${rule('x')}`)]);
  assert.equal(issues.length, 1);
  assert.match(issues[0]!.message, /add band: NN-name/);
});

test('checkPolicyFiles never throws and reports every file', () => {
  const issues = checkPolicyFiles([join(dir, 'missing.yaml'), file('60-bad.yaml', 'rules: 3\n')]);
  assert.equal(issues.length, 2);
  assert.match(issues[0]!.message, /cannot read/);
});

test('command matchers load as argv alternatives; host/agent stay pending; all show in the summary', () => {
  const f = file(
    '70-p.yaml',
    `rules:\n${rule('push', '', "op: exec\n      command: { argv: [git, push, '**'] }")}` +
      rule('two', '', "op: exec\n      command: { argv: [[a, '**'], [b]] }") +
      rule('net', '', 'op: connect\n      host: [example.com]'),
  );
  const p = loadPolicy([f]);
  assert.deepEqual(p.rules[0]!.pending, []);
  assert.deepEqual(p.rules[0]!.argvs, [['git', 'push', '**']]);
  assert.deepEqual(p.rules[1]!.argvs, [['a', '**'], ['b']]);
  assert.deepEqual(p.rules[2]!.pending, ['host']);
  assert.deepEqual(ruleSummary(p)[0], {
    id: 'push',
    band: '70-p',
    decision: 'deny',
    ops: ['exec'],
    patterns: ['argv:git push **'],
  });
  assert.deepEqual(ruleSummary(p)[2]!.patterns, ['host(pending):example.com']);
});

test('argv pattern errors are reported at the element (flat and nested lists)', () => {
  const i = one(`rules:\n${rule('x', '', "op: exec\n      command: { argv: [git, 'a**b'] }")}`);
  assert.deepEqual([i.line, i.column], [6, 30]);
  assert.match(i.message, /command argv \*\* must be a whole argv element/);
  const j = one(
    `rules:\n${rule('x', '', "op: exec\n      command:\n        argv:\n          - [git]\n          - [git, '[ab']")}`,
  );
  assert.deepEqual([j.line, j.column], [9, 19]);
  assert.match(j.message, /unclosed \[/);
  const k = one(`rules:\n${rule('x', '', "op: exec\n      command: { argv: [git, ''] }")}`);
  assert.match(k.message, /cannot be empty/);
});

test('command matchers need op exec alone', () => {
  const i = one(`rules:\n${rule('x', '', 'op: [exec, write]\n      command: { argv: [git] }')}`);
  assert.deepEqual([i.line, i.column], [5, 11]);
  assert.match(i.message, /command matchers apply only to op exec/);
  assert.match(
    one(`rules:\n${rule('x', '', "op: '*'\n      command: { argv: [git] }")}`).message,
    /only to op exec/,
  );
});

test('hold params: fallback is allow|deny and only with ask; delay only with delay', () => {
  const ask = (extra: string) => `rules:\n${rule('x', extra).replace('decision: deny', 'decision: ask')}`;
  assert.deepEqual(issuesOf(ask('    timeout: 90s\n    fallback: allow\n')), []);
  const i = one(ask('    fallback: steer\n'));
  assert.deepEqual([i.line, i.column], [8, 15]);
  const j = one(ask('    delay: 2s\n'));
  assert.match(j.message, /delay is only valid with decision: delay/);
  const k = one(ask('    timeout: 5 minutes\n'));
  assert.deepEqual(
    [k.line, k.column, k.message.split(' (')[0]],
    [8, 14, 'expected a duration like 500ms, 2s, 5m or 1h'],
  );
});

test('settings: positions of bad values and unknown keys', () => {
  const i = one(`settings:\n  delete_delay: 2 s\nrules: []\n`);
  assert.deepEqual([i.line, i.column], [2, 17]);
  assert.match(i.message, /duration.*settings\.delete_delay/);
  const j = one(`settings:\n  bulk: { count: 0, window: 10s }\n`);
  assert.deepEqual([j.line, j.column], [2, 18]);
  const k = one(`settings:\n  repeat: 5\n  idle: 5s\n`);
  assert.deepEqual([k.line, k.column, k.message], [3, 3, 'unknown key "idle"']);
  const l = one(`settings:\n  bulk: { count: 5 }\n`);
  assert.equal(l.line, 2);
});

test('settings merge in band order, key by key; policySettings fills the defaults', () => {
  const a = file('20-a.yaml', 'settings: { delete_delay: 1s, bulk: { count: 10, window: 1s }, repeat: 3 }\n');
  const b = file('60-b.yaml', 'settings: { delete_delay: 750ms, repeat: 0 }\nrules: []\n');
  const c = file('40-c.yaml', `settings: { ask_timeout: 1h }\nrules:\n${rule('c')}`);
  const p = loadPolicy([b, a, c]);
  assert.deepEqual(p.settings, {
    deleteDelayMs: 750,
    bulk: { count: 10, windowMs: 1000 },
    repeat: 0,
    askTimeoutMs: 3_600_000,
  });
  assert.deepEqual(policySettings(p), {
    deleteDelayMs: 750,
    askTimeoutMs: 3_600_000,
    bulk: { count: 10, windowMs: 1000 },
    idleMs: 5000,
    repeat: 0,
  });
  assert.deepEqual(policySettings(loadPolicy([file('50-none.yaml', `rules:\n${rule('n')}`)])), {
    ...DEFAULT_SETTINGS,
    bulk: { ...DEFAULT_SETTINGS.bulk },
  });
});

test('parseDuration: ms, s, m, h; anything else is null', () => {
  assert.equal(parseDuration('500ms'), 500);
  assert.equal(parseDuration('2s'), 2000);
  assert.equal(parseDuration('5m'), 300_000);
  assert.equal(parseDuration('1h'), 3_600_000);
  assert.equal(parseDuration('0s'), 0);
  for (const bad of ['', '2', 's', '2 s', '1.5s', '-1s', '2S', '2sec', '1d', ' 2s', '99999999999999999999h'])
    assert.equal(parseDuration(bad), null, bad);
});

test('the default policy is valid', () => {
  const root = fileURLToPath(new URL('../../../policies/', import.meta.url));
  const files = readdirSync(root).map((f) => join(root, f));
  assert.deepEqual(checkPolicyFiles(files).map(formatIssue), []);
  const bands = loadPolicy(files).bands.map((b) => b.band);
  assert.deepEqual(bands, [...bands].sort());
});
