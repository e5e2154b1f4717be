// Loading policy files: positions of schema, glob, YAML and duplicate-id errors; band order; the default policy.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, readdirSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import {
  checkPolicyFiles,
  formatIssue,
  loadPolicy,
  PolicyError,
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

test('pending matchers (command, host, agent) parse and show in the summary', () => {
  const f = file(
    '70-p.yaml',
    `rules:\n${rule('push', '', "op: exec\n      command: { argv: [git, push, '**'] }")}`,
  );
  const p = loadPolicy([f]);
  assert.deepEqual(p.rules[0]!.pending, ['command']);
  assert.deepEqual(ruleSummary(p)[0], {
    id: 'push',
    band: '70-p',
    decision: 'deny',
    ops: ['exec'],
    patterns: ['command(pending):git push **'],
  });
});

test('the default policy is valid', () => {
  const root = fileURLToPath(new URL('../../../policies/', import.meta.url));
  const files = readdirSync(root).map((f) => join(root, f));
  assert.deepEqual(checkPolicyFiles(files).map(formatIssue), []);
  const bands = loadPolicy(files).bands.map((b) => b.band);
  assert.deepEqual(bands, [...bands].sort());
});
