/**
 * The journal through the CLI, with the real daemon: `warden verify` on an intact and on a tampered journal,
 * a rollback that meets a later edit (reported as a conflict, skipped, not overwritten), and `warden rollback
 * --undo` putting the tree back to how the run left it.
 */
import { describe, test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { mkdirSync, readFileSync, writeFileSync, existsSync, utimesSync } from 'node:fs';
import { join } from 'node:path';
import Database from 'better-sqlite3';
import { makeSandbox, destroySandbox, warden, startApprover, type Sandbox } from '../helpers/warden.js';
import { hashTree, diffTrees } from '../helpers/tree.js';
import { randomTree } from './fixtures.js';
import { guardedAsync } from './roundtrip.js';

describe('journal: verify, conflicts, undo', () => {
  let sb: Sandbox;
  before(() => (sb = makeSandbox('journal')));
  after(() => destroySandbox(sb));

  test('a rollback skips a path edited after the run, and can itself be undone', async () => {
    const dir = join(sb.ws, 'c');
    mkdirSync(dir, { recursive: true });
    randomTree(join(dir, 't'), 3, 2, 2);
    writeFileSync(join(dir, 'a.txt'), 'original\n');
    const approver = await startApprover(sb);
    const r = await guardedAsync(sb, dir, ['sh', '-c', 'rm -rf t; echo by-agent > a.txt']).finally(() =>
      approver.stop(),
    );
    assert.equal(r.code, 0, r.output);
    const afterRun = hashTree(dir);
    // a person edits a.txt after the run (a later mtime than the run's end)
    writeFileSync(join(dir, 'a.txt'), 'later work\n');
    const later = new Date(Date.now() + 5000);
    utimesSync(join(dir, 'a.txt'), later, later);

    const dry = warden(sb, ['rollback', '--run', 'last', '--dry-run'], { cwd: dir });
    assert.equal(dry.status, 0, dry.stderr);
    assert.match(dry.stdout, /conflict .*a\.txt/);
    const applied = warden(sb, ['rollback', '--run', 'last', '--yes', '--json'], { cwd: dir });
    assert.equal(applied.status, 0, applied.stderr);
    const result = JSON.parse(applied.stdout) as { rollbackId: number; conflicts: { path: string }[] };
    assert.ok(result.conflicts.some((c) => c.path === join(dir, 'a.txt')));
    assert.equal(
      readFileSync(join(dir, 'a.txt'), 'utf8'),
      'later work\n',
      'the later edit is not overwritten',
    );
    assert.ok(existsSync(join(dir, 't', 'file 0.bin')), 'the deleted tree is back');

    const undo = warden(sb, ['rollback', '--undo', String(result.rollbackId), '--yes'], { cwd: dir });
    assert.equal(undo.status, 0, undo.stderr + undo.stdout);
    const diff = diffTrees(afterRun, hashTree(dir)).filter((l) => !l.startsWith('a.txt'));
    assert.deepEqual(diff, [], 'undo returns the tree to how the run left it');
    const again = warden(sb, ['rollback', '--undo', String(result.rollbackId)], { cwd: dir });
    assert.notEqual(again.status, 0, 'a rollback is undone once');
  });

  test('warden verify passes on an intact journal and names the first edited row', () => {
    const ok = warden(sb, ['verify', '--json']);
    assert.equal(ok.status, 0, ok.stderr);
    assert.equal((JSON.parse(ok.stdout) as { ok: boolean }).ok, true);
    const db = new Database(join(sb.state, 'journal.db'));
    const row = db.prepare('SELECT id FROM events ORDER BY id LIMIT 1 OFFSET 2').get() as { id: number };
    db.prepare("UPDATE events SET path = '/tampered' WHERE id = ?").run(row.id);
    db.close();
    const bad = warden(sb, ['verify']);
    assert.equal(bad.status, 1);
    assert.match(bad.stdout + bad.stderr, new RegExp(`edited.*events row ${row.id}`));
  });
});
