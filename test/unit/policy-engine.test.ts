// evaluate(): strictness of two-path events, link semantics, built-ins, pending rules; recursive-delete parsing
// and realpath-style target resolution (core/policy/rmtree.ts).
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdirSync, mkdtempSync, realpathSync, symlinkSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import {
  evaluate,
  loadPolicy,
  recursiveDeleteTargets,
  resolveTarget,
  type PolicyVars,
} from '../../core/policy/index.js';

const dir = realpathSync(mkdtempSync(join(tmpdir(), 'warden-engine-')));
const vars: PolicyVars = { workspace: '/w/proj', home: '/w/home', tmp: ['/tmp'], state: '/w/s' };
const policyFile = join(dir, '50-e.yaml');
writeFileSync(
  policyFile,
  `rules:
  - { id: steer-x, why: w, match: { op: '*', path: /d/steer }, decision: steer }
  - { id: delay-x, why: w, match: { op: '*', path: /d/delay }, decision: delay, delay: 1s }
  - { id: ask-x, why: w, match: { op: '*', path: /d/ask }, decision: ask, timeout: 1m, fallback: deny }
  - { id: deny-x, why: w, match: { op: '*', path: /d/deny }, decision: deny }
  - { id: pending, why: w, match: { op: '*', path: '/**', host: [example.com] }, decision: deny }
  - { id: src-write, why: w, match: { op: [write], path: /d/src }, decision: ask }
  - { id: allow-d, why: w, match: { op: '*', path: '/d/**' }, decision: allow }
`,
);
const policy = loadPolicy([policyFile]);

test('two-path events: the stricter decision wins (deny > ask > delay > steer > allow)', () => {
  const order = ['allow', 'steer', 'delay', 'ask', 'deny'];
  for (const a of order)
    for (const b of order) {
      const d = evaluate(policy, vars, { op: 'rename', path: `/d/${a}`, path2: `/d/${b}` });
      const want = order.indexOf(a) >= order.indexOf(b) ? a : b;
      assert.equal(d.decision, want, `${a} + ${b}`);
      assert.equal(d.matched, want === a ? 'path' : 'path2');
    }
});

test('link: the new name is judged as create, the source as write', () => {
  const d = evaluate(policy, vars, { op: 'link', path: '/d/new', path2: '/d/src' });
  assert.deepEqual([d.decision, d.ruleId, d.matched], ['ask', 'src-write', 'path2']);
  const e = evaluate(policy, vars, { op: 'create', path: '/d/new', path2: '/d/src' });
  assert.deepEqual(
    [e.decision, e.ruleId],
    ['allow', 'allow-d'],
    'a symlink target (path2 of create) is not judged',
  );
});

test('rules with pending matchers never match; no match is deny/no-rule', () => {
  assert.equal(evaluate(policy, vars, { op: 'write', path: '/x' }).ruleId, 'no-rule');
  assert.deepEqual(evaluate(policy, vars, { op: 'write', path: '/x' }).matched, 'none');
});

test('built-ins: a custom socket path, and the decision carries the rule', () => {
  const v = { ...vars, socket: '/run/warden.sock' };
  assert.equal(evaluate(policy, v, { op: 'connect', path: '/run/warden.sock' }).ruleId, 'builtin-state-dir');
  const d = evaluate(policy, vars, { op: 'write', path: '/d/ask' });
  assert.equal(d.rule?.timeoutMs, 60_000);
  assert.equal(d.rule?.fallback, 'deny');
  assert.equal(evaluate(policy, vars, { op: 'write', path: '/d/delay' }).rule?.delayMs, 1000);
});

test('recursive delete recognition', () => {
  const t = recursiveDeleteTargets;
  assert.deepEqual(t(['rm', '-rf', 'a', 'b']), ['a', 'b']);
  assert.deepEqual(t(['rm', '-f', '-R', 'a']), ['a']);
  assert.deepEqual(t(['rm', '-vfr', 'a']), ['a']);
  assert.deepEqual(t(['rm', 'a', '--recursive']), ['a']);
  assert.deepEqual(t(['rm', '--recu', 'a']), ['a']);
  assert.equal(t(['rm', '--force', 'a']), null);
  assert.equal(t(['rm', '--', '-rf']), null);
  assert.deepEqual(t(['rm', '-r', '--', '-f', 'x']), ['-f', 'x']);
  assert.deepEqual(t(['rm', '-r', '-']), ['-']);
  assert.equal(t(['rmdir', '-p', 'a']), null);
  assert.equal(t([]), null);
  assert.deepEqual(t(['find', '-H', '-O3', '-D', 'tree', 'a', 'b', '(', '-name', 'x', ')', '-delete']), [
    'a',
    'b',
  ]);
  assert.deepEqual(t(['find', '-delete']), ['.']);
  assert.deepEqual(t(['find', 'a', '-okdir', '/usr/bin/rm', '{}', ';']), ['a']);
  assert.equal(t(['find', 'a', '-exec', 'echo', 'rm', ';']), null);
  assert.equal(t(['find', 'a', '-print']), null);
  // Over-approximation shared with the C helper: a -delete token counts even as another primary's argument.
  assert.deepEqual(t(['find', 'a', '-name', '-delete']), ['a']);
});

test('target resolution: realpath of the existing prefix, the rest normalised', () => {
  mkdirSync(join(dir, 'real/sub'), { recursive: true });
  symlinkSync(join(dir, 'real/sub'), join(dir, 'link'));
  assert.equal(resolveTarget('link', dir), join(dir, 'real/sub'));
  assert.equal(resolveTarget('link/..', dir), join(dir, 'real'), '.. after a symlink leaves its target');
  assert.equal(resolveTarget('link/missing/../x', dir), join(dir, 'real/sub/x'));
  assert.equal(resolveTarget('./real//sub/', dir), join(dir, 'real/sub'));
  assert.equal(resolveTarget('/', dir), '/');
  assert.equal(resolveTarget('../../../../../../../..', dir), '/');
  assert.equal(resolveTarget('x', undefined), '/x', 'no cwd: resolved against /');
});
