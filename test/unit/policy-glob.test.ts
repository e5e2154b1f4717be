// Variable substitution, brace expansion and the WIRE.md glob subset (core/policy/glob.ts).
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { expandGlob, expandTree, globEscape, GlobError, type PolicyVars } from '../../core/policy/index.js';

const vars: PolicyVars = { workspace: '/w/proj', home: '/w/home', tmp: ['/tmp', '/var/tmp'], state: '/w/s' };
const globs = (raw: string, v = vars) => expandGlob(raw, v).map((g) => g.glob);

test('~ at the start is home; ${…} variables are substituted; ${tmp} fans out', () => {
  assert.deepEqual(globs('~/.bashrc'), ['/w/home/.bashrc']);
  assert.deepEqual(globs('~'), ['/w/home']);
  assert.deepEqual(globs('${workspace}/**'), ['/w/proj/**']);
  assert.deepEqual(globs('${tmp}/**'), ['/tmp/**', '/var/tmp/**']);
  assert.deepEqual(globs('${state}/x${tmp}'), ['/w/s/x/tmp', '/w/s/x/var/tmp']);
  assert.throws(() => globs('${state}/${tmp}'), /empty path segment/);
  assert.deepEqual(globs('/a/~/b'), ['/a/~/b'], '~ elsewhere is literal');
  assert.throws(() => globs('~user/x'), GlobError);
});

test('variable values match literally even with glob characters in them', () => {
  const odd = { ...vars, workspace: '/w/a*[b]?\\c' };
  const [g] = expandGlob('${workspace}/**', odd);
  assert.equal(g!.glob, '/w/a\\*\\[b\\]\\?\\\\c/**');
  assert.ok(g!.match('/w/a*[b]?\\c/x'));
  assert.ok(!g!.match('/w/aXb?\\c/x'));
  assert.equal(g!.root, '/w/a*[b]?\\c');
  assert.equal(globEscape('a*b'), 'a\\*b');
});

test('braces expand (nested, ranges); escaped braces and escapes survive expansion', () => {
  assert.deepEqual(globs('~/.{bashrc,zshrc}'), ['/w/home/.bashrc', '/w/home/.zshrc']);
  assert.deepEqual(globs('/a/{b,{c,d}}/e'), ['/a/b/e', '/a/c/e', '/a/d/e']);
  assert.deepEqual(globs('/a/{1..3}'), ['/a/1', '/a/2', '/a/3']);
  assert.deepEqual(globs('/a/\\{x,y\\}'), ['/a/{x,y}']);
  assert.deepEqual(globs('/a/\\*{b,c}'), ['/a/\\*b', '/a/\\*c']);
  assert.deepEqual(globs('{${workspace},~}/x'), ['/w/proj/x', '/w/home/x']);
  assert.throws(() => globs('/a/{1..100000}'), /brace expansion failed/);
  assert.throws(() => globs('/a/\ue001'), /private-use/);
});

test('relative ** patterns become absolute and never name a wall root', () => {
  const [g] = expandGlob('**/.git/hooks/**', vars);
  assert.equal(g!.glob, '/**/.git/hooks/**');
  assert.equal(g!.relative, true);
  assert.equal(g!.root, null);
  assert.ok(g!.match('/.git/hooks'), '** matches zero segments at the start');
  assert.ok(g!.match('/w/p/.git/hooks/pre-commit'));
  const [all] = expandGlob('**', vars);
  assert.equal(all!.glob, '/**');
  assert.equal(all!.root, null);
  assert.ok(all!.match('/') && all!.match('/x/.y'));
});

test('matching follows WIRE.md: dotfiles, one segment per *, /** matches the dir itself', () => {
  const m = (raw: string, p: string) => expandGlob(raw, vars).some((g) => g.match(p));
  assert.ok(m('/a/*', '/a/.hidden'));
  assert.ok(!m('/a/*', '/a/b/c'));
  assert.ok(m('/a/**', '/a'));
  assert.ok(!m('/a/**', '/ab'));
  assert.ok(m('/a/**/b', '/a/b'));
  assert.ok(m('/a/?', '/a/x') && !m('/a/?', '/a/xy'));
  assert.ok(m('/a/[!x]y', '/a/zy') && !m('/a/[!x]y', '/a/xy'));
  assert.ok(!m('/a[!x]b', '/a/b'), 'a class never matches /');
  assert.ok(m('/a/[]x]', '/a/]'));
  assert.ok(m('/a/(b)|c+d@e$f^g', '/a/(b)|c+d@e$f^g'), 'regex and extglob characters are literal');
  assert.ok(m('/a/x,y', '/a/x,y'));
  assert.ok(m("/a/it's a b\tc", "/a/it's a b\tc"));
});

test('root: literal paths and P/** only', () => {
  const root = (raw: string) => expandGlob(raw, vars).map((g) => g.root);
  assert.deepEqual(root('/a/b'), ['/a/b']);
  assert.deepEqual(root('/a/b/**'), ['/a/b']);
  assert.deepEqual(root('/**'), ['/']);
  assert.deepEqual(root('/a/*/c'), [null]);
  assert.deepEqual(root('/a/**/c'), [null]);
  assert.deepEqual(root('/a/b*'), [null]);
  assert.deepEqual(root('/a/\\*'), ['/a/*']);
});

test('tree patterns: literal, absolute, normalised lexically', () => {
  assert.deepEqual(expandTree('${workspace}/..', vars), ['/w']);
  assert.deepEqual(expandTree('~', vars), ['/w/home']);
  assert.deepEqual(expandTree('/..', vars), ['/']);
  assert.deepEqual(expandTree('{~,${state}}', vars), ['/w/home', '/w/s']);
  assert.throws(() => expandTree('/a/*', vars), /literal absolute path/);
  assert.throws(() => expandTree('**/x', vars), /literal absolute path/);
});
