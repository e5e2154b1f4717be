// argv patterns (WIRE.md §3): element globs where `*` crosses `/`, `**` elements, argv[0] as the executable's
// basename; and the hold parameters evaluate() puts on a Decision.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { compileArgv, evaluate, GlobError, loadPolicy, type PolicyVars } from '../../core/policy/index.js';

const m = (pat: string[], argv: string[], exe?: string) => compileArgv(pat).match(argv, exe);

test('argv: elements match one to one; ** matches zero or more elements', () => {
  assert.ok(m(['git', 'push'], ['git', 'push']));
  assert.ok(!m(['git', 'push'], ['git', 'push', 'origin']));
  assert.ok(!m(['git', 'push'], ['git']));
  const p = ['git', '**', 'reset', '**', '--ha*', '**'];
  assert.ok(m(p, ['git', 'reset', '--hard']));
  assert.ok(m(p, ['git', '-C', 'x', 'reset', '-q', '--hard', 'HEAD']));
  assert.ok(!m(p, ['git', '--hard', 'reset']));
  assert.ok(m(['a', '**'], ['a']));
  assert.ok(m(['**'], ['anything', 'at', 'all']));
  assert.ok(!m(['**'], []), 'an empty argv never matches');
  assert.ok(m(['a', '**', '**', 'b'], ['a', 'x', 'y', 'b']));
});

test('argv: argv[0] is the basename of the executable (or of argv[0] without one)', () => {
  assert.ok(m(['git', '**'], ['/usr/bin/git', 'status']));
  assert.ok(m(['git', '**'], ['whatever', 'status'], '/usr/lib/git-core/git'));
  assert.ok(!m(['git', '**'], ['git', 'status'], '/usr/bin/hub'));
  assert.ok(!m(['/usr/bin/git', '**'], ['/usr/bin/git']), 'element 0 sees only the basename');
  assert.ok(m(['x', '/usr/bin/git'], ['x', '/usr/bin/git']), 'later elements are whole');
});

test('argv: * also matches /, ? and classes do not; classes, negation, escapes', () => {
  assert.ok(m(['node', '*prisma*'], ['node', '/w/node_modules/.bin/prisma']));
  assert.ok(m(['a', '?'], ['a', 'x']));
  assert.ok(!m(['a', '?'], ['a', '/']));
  assert.ok(!m(['a', '[!x]'], ['a', '/']));
  assert.ok(m(['a', '-[!-]*f*'], ['a', '-uf']));
  assert.ok(!m(['a', '-[!-]*f*'], ['a', '--follow-tags']));
  assert.ok(m(['a', '*[Dd][Rr][Oo][Pp][ \t]*'], ['a', 'x; drop\ttable t']));
  assert.ok(!m(['a', '*[Dd][Rr][Oo][Pp][ \t]*'], ['a', 'dropbox.db']));
  assert.ok(m(['a', '\\*'], ['a', '*']));
  assert.ok(!m(['a', '\\*'], ['a', 'x']));
  assert.ok(m(['a', '{x,y}'], ['a', '{x,y}']), 'no braces: literal');
  assert.ok(m(['a', '.*'], ['a', '.env']));
  assert.ok(m(['a', '*'], ['a', 'multi\nline']));
  assert.ok(m(['a', '[a-c]x'], ['a', 'bx']) && !m(['a', '[a-c]x'], ['a', 'dx']));
});

test('argv: bad patterns throw GlobError; the table form joins with \\x1f', () => {
  for (const bad of [
    [],
    [''],
    ['a**'],
    ['a', 'x**y'],
    ['[ab'],
    ['a\\'],
    ['a\x1fb'],
    ['[a/b]'],
    ['[[:alpha:]]'],
  ])
    assert.throws(() => compileArgv(bad), GlobError, JSON.stringify(bad));
  assert.equal(compileArgv(['git', '**', 'push']).glob, 'git\x1f**\x1fpush');
});

const dir = mkdtempSync(join(tmpdir(), 'warden-argv-'));
const vars: PolicyVars = {
  workspace: '/w/proj',
  home: '/w/home',
  tmp: ['/tmp'],
  state: '/w/home/.local/state/warden',
};

test('evaluate: argv rules match exec events only (matched: argv), first match wins with path rules', () => {
  const f = join(dir, '50-a.yaml');
  writeFileSync(
    f,
    `rules:
  - { id: ask-push, why: pushing, match: { op: exec, command: { argv: [git, push, '**'] } }, decision: ask }
  - { id: both, why: both, match: { op: exec, path: /opt/tool, command: { argv: [tool, x] } }, decision: deny }
  - { id: rest, why: rest, match: { op: '*', path: '**' }, decision: allow }
`,
  );
  const p = loadPolicy([f]);
  const d = evaluate(p, vars, { op: 'exec', path: '/usr/bin/git', cwd: '/w/proj', argv: ['git', 'push'] });
  assert.deepEqual([d.decision, d.ruleId, d.matched, d.why], ['ask', 'ask-push', 'argv', 'pushing']);
  assert.deepEqual([d.timeoutMs, d.fallback, d.delayMs], [300_000, 'deny', undefined]);
  assert.equal(evaluate(p, vars, { op: 'exec', path: '/usr/bin/git', argv: ['git', 'pull'] }).ruleId, 'rest');
  assert.equal(
    evaluate(p, vars, { op: 'exec', path: '/usr/bin/git' }).ruleId,
    'rest',
    'no argv, no argv match',
  );
  // A rule with a path and a command matches on either.
  assert.equal(evaluate(p, vars, { op: 'exec', path: '/opt/tool', argv: ['y'] }).matched, 'path');
  assert.equal(evaluate(p, vars, { op: 'exec', path: '/usr/bin/tool', argv: ['tool', 'x'] }).matched, 'argv');
  const allow = evaluate(p, vars, { op: 'write', path: '/w/proj/a' });
  assert.deepEqual([allow.delayMs, allow.timeoutMs, allow.fallback], [undefined, undefined, undefined]);
});
