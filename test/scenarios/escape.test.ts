/**
 * Escape attempts must fail and be journaled: `../` paths, a symlink pointing outside, a symlink swapped in
 * from another thread while calls are in flight, a hardlink to an outside file, renaming the workspace's
 * parent, and `rm -rf` of a variable that expands to the home dir (denied before anything is removed).
 */
import { describe, test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { writeFileSync, readFileSync, existsSync, symlinkSync, mkdirSync, statSync } from 'node:fs';
import { join } from 'node:path';
import { makeSandbox, destroySandbox, guarded, runLog, type Sandbox } from '../helpers/warden.js';
import { hashTree, diffTrees } from '../helpers/tree.js';
import { randomTree } from './fixtures.js';

describe('escape attempts fail and are journaled', () => {
  let sb: Sandbox;
  let secret: string;
  before(() => {
    sb = makeSandbox('escape');
    secret = join(sb.outside, 'secret.txt');
    writeFileSync(secret, 'outside bytes\n');
    randomTree(join(sb.ws, 'src'), 42, 3, 2, 512);
    writeFileSync(join(sb.home, '.bashrc'), 'export PS1=safe\n');
  });
  after(() => destroySandbox(sb));

  const denied = (op?: string) =>
    runLog(sb).events.filter((e) => e.decision === 'deny' && (op === undefined || e.op === op));

  test('rm -rf of a variable that expands to the home dir is denied before anything is removed', () => {
    const home = hashTree(sb.home);
    const r = guarded(sb, ['sh', '-c', 'D="$HOME"; rm -rf "$D"']);
    assert.notEqual(r.status, 0);
    assert.deepEqual(diffTrees(home, hashTree(sb.home)), [], 'nothing under HOME changed');
    // The shell may try the exec once per PATH entry; every attempt must be denied by the rule.
    const d = denied('exec');
    assert.ok(d.length >= 1, 'the rm exec itself is denied');
    assert.ok(
      d.every((e) => e.ruleId === 'deny-rm-home-or-root'),
      JSON.stringify(d.map((e) => e.ruleId)),
    );
  });

  test('rm -rf / with --no-preserve-root is denied', () => {
    const home = hashTree(sb.home);
    const r = guarded(sb, ['rm', '-rf', '--no-preserve-root', '/']);
    assert.notEqual(r.status, 0);
    assert.deepEqual(diffTrees(home, hashTree(sb.home)), []);
    assert.ok(denied('exec').length >= 1);
  });

  test('../ paths out of the workspace are denied', () => {
    const r = guarded(sb, [
      'sh',
      '-c',
      'echo pwned > ../../outside/secret.txt; echo new > ../../outside/new.txt; rm ../../outside/secret.txt; true',
    ]);
    assert.equal(r.status, 0);
    assert.equal(readFileSync(secret, 'utf8'), 'outside bytes\n');
    assert.equal(existsSync(join(sb.outside, 'new.txt')), false);
    const d = denied();
    assert.ok(d.length >= 3, `three denials journaled, got ${d.length}`);
    assert.ok(
      d.every((e) => String(e.path).startsWith(sb.outside)),
      'journaled with the resolved outside path',
    );
  });

  test('a symlink pointing outside cannot be written through', () => {
    symlinkSync(sb.outside, join(sb.ws, 'out-link'));
    symlinkSync(secret, join(sb.ws, 'secret-link'));
    const r = guarded(sb, [
      'sh',
      '-c',
      'echo a > out-link/x; echo b > secret-link; chmod 777 secret-link; rm -rf out-link/; true',
    ]);
    assert.equal(r.status, 0);
    assert.equal(readFileSync(secret, 'utf8'), 'outside bytes\n');
    assert.equal(existsSync(join(sb.outside, 'x')), false);
    assert.ok(denied().length >= 2);
  });

  test('a hardlink to an outside file is denied', () => {
    const r = guarded(sb, [
      'sh',
      '-c',
      `ln ${JSON.stringify(secret).slice(1, -1)} hard; echo pwned >> hard; true`,
    ]);
    assert.equal(r.status, 0);
    assert.equal(readFileSync(secret, 'utf8'), 'outside bytes\n');
    // `>> hard` may create a new, unrelated file of that name; it must not share the outside inode
    const hard = join(sb.ws, 'hard');
    if (existsSync(hard)) assert.notEqual(statSync(hard).ino, statSync(secret).ino);
    assert.ok(
      denied('create').some((e) => e.path2 === secret),
      'the link attempt is journaled with its source',
    );
  });

  test("renaming the workspace's parent is denied", () => {
    const r = guarded(sb, ['sh', '-c', 'mv "$HOME" "$HOME.moved"; mv .. ../../elsewhere; true']);
    assert.equal(r.status, 0);
    assert.ok(existsSync(sb.ws), 'workspace still where it was');
    assert.ok(denied('rename').length >= 1);
  });

  test('creating what already exists outside the workspace fails with EEXIST, as without Warden', () => {
    // Agents probe with `mkdir -p ~` and treat EACCES as fatal: the kernel says EEXIST before any
    // permission check, and so must Warden.
    const r = guarded(sb, [
      'python3',
      '-c',
      [
        'import os, errno',
        'for f in (lambda: os.mkdir(os.environ["HOME"]), lambda: os.open(os.environ["HOME"] + "/.bashrc", os.O_CREAT | os.O_EXCL | os.O_WRONLY), lambda: os.symlink("x", os.environ["HOME"] + "/.bashrc")):',
        '    try: f(); print("created")',
        '    except OSError as e: print(errno.errorcode[e.errno])',
      ].join('\n'),
    ]);
    assert.equal(r.status, 0, r.stderr);
    assert.deepEqual(r.stdout.trim().split('\n'), ['EEXIST', 'EEXIST', 'EEXIST']);
    assert.equal(readFileSync(join(sb.home, '.bashrc'), 'utf8'), 'export PS1=safe\n');
  });

  test('protected agent configuration cannot be changed', () => {
    mkdirSync(join(sb.ws, '.claude'), { recursive: true });
    writeFileSync(join(sb.ws, '.claude', 'settings.json'), '{"permissions":{}}\n');
    const r = guarded(sb, [
      'sh',
      '-c',
      'echo "{\\"permissions\\":{\\"allow\\":[\\"*\\"]}}" > .claude/settings.json; echo evil >> "$HOME/.bashrc"; mkdir -p .git/hooks; echo x > .git/hooks/pre-commit; true',
    ]);
    assert.equal(r.status, 0);
    assert.equal(readFileSync(join(sb.ws, '.claude', 'settings.json'), 'utf8'), '{"permissions":{}}\n');
    assert.equal(readFileSync(join(sb.home, '.bashrc'), 'utf8'), 'export PS1=safe\n');
    assert.equal(existsSync(join(sb.ws, '.git', 'hooks', 'pre-commit')), false);
  });

  test('a symlink swapped in from another thread during calls never lets a write escape', () => {
    // Thread A flips `flip` between a directory inside the workspace and a symlink to the outside dir while
    // thread B keeps writing `flip/victim`. Whatever the interleaving, nothing may appear outside.
    const code = `
import os, threading, time
os.mkdir('inside')
stop = False
def flipper():
    while not stop:
        try:
            os.rename('inside', 'flip')
        except OSError: pass
        try:
            os.rename('flip', 'inside'); os.symlink(${JSON.stringify(sb.outside)}, 'flip')
        except OSError: pass
        try: os.unlink('flip')
        except OSError: pass
t = threading.Thread(target=flipper); t.start()
ok = 0
end = time.time() + 1.5
while time.time() < end:
    try:
        with open('flip/victim', 'w') as f: f.write('x'); ok += 1
    except OSError: pass
stop = True; t.join()
print(ok)
`;
    const r = guarded(sb, ['python3', '-c', code]);
    assert.equal(r.status, 0, r.stderr);
    assert.equal(
      existsSync(join(sb.outside, 'victim')),
      false,
      'no write escaped through the swapped symlink',
    );
  });
});
