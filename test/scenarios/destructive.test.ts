/**
 * Real destructive commands on real trees under `warden run`, each undone by `warden rollback` byte for byte
 * (content, mode, symlink targets).
 */
import { describe, test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { writeFileSync, mkdirSync, existsSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { makeSandbox, destroySandbox, warden, type Sandbox } from '../helpers/warden.js';
import { randomTree, gitRepo, sqliteDb, randomBytes } from './fixtures.js';
import { roundTrip, eventsOf } from './roundtrip.js';

describe('destructive commands are journaled and rolled back byte for byte', () => {
  let sb: Sandbox;
  before(() => (sb = makeSandbox('destructive')));
  after(() => destroySandbox(sb));

  test('rm -rf of a nested tree', async () => {
    const { log, holds } = await roundTrip(sb, 'rmrf', (d) => randomTree(join(d, 'tree'), 1), [
      'rm',
      '-rf',
      'tree',
    ]);
    assert.ok(
      holds.some((h) => h.reason === 'bulk'),
      'more than 50 pre-existing files: the bulk gate asked',
    );
    const deletes = eventsOf(log, 'delete', 'allow');
    assert.ok(deletes.length >= 60, `expected every file and dir delete journaled, got ${deletes.length}`);
    assert.ok(
      deletes.every((e) => e.pre !== null),
      'every delete carries a pre-image',
    );
  });

  test('git clean -fdX removes an ignored data dir', async () => {
    const { log, holds } = await roundTrip(sb, 'gitclean', (d) => gitRepo(d, sb.env), [
      'git',
      'clean',
      '-fdX',
    ]);
    assert.ok(
      holds.some((h) => h.op === 'exec' && h.argv.includes('-fdX')),
      'git clean -X asked a person first',
    );
    assert.ok(eventsOf(log, 'delete').some((e) => String(e.path).includes('/data/')));
  });

  test('git checkout -- . over uncommitted edits', async () => {
    const { holds } = await roundTrip(sb, 'gitcheckout', (d) => gitRepo(d, sb.env), [
      'git',
      'checkout',
      '--',
      '.',
    ]);
    assert.ok(
      holds.some((h) => h.op === 'exec' && h.argv.includes('checkout')),
      'git checkout -- . asked first',
    );
  });

  test('git reset --hard over uncommitted edits', async () => {
    const { holds } = await roundTrip(sb, 'gitreset', (d) => gitRepo(d, sb.env), [
      'git',
      'reset',
      '--hard',
      'HEAD~1',
    ]);
    const h = holds.find((x) => x.op === 'exec' && x.argv.includes('--hard'));
    assert.ok(h, 'git reset --hard asked a person first');
    assert.ok(
      h.preview?.kind === 'command' && h.preview.lines.some((l) => l.includes('file 0.bin')),
      'dirty files listed',
    );
  });

  test('find … -delete', async () => {
    await roundTrip(sb, 'finddelete', (d) => randomTree(join(d, 't'), 2), [
      'find',
      't',
      '-name',
      '*.bin',
      '-delete',
    ]);
  });

  test('find … -exec rm -rf {} +', async () => {
    await roundTrip(sb, 'findexec', (d) => randomTree(join(d, 't'), 3), [
      'find',
      't',
      '-mindepth',
      '1',
      '-type',
      'd',
      '-exec',
      'rm',
      '-rf',
      '{}',
      '+',
    ]);
  });

  test('a mv loop that overwrites files onto one name', async () => {
    await roundTrip(
      sb,
      'mvloop',
      (d) => {
        for (let i = 0; i < 10; i++) writeFileSync(join(d, `part${i}.txt`), randomBytes(i + 1, 100 + i));
      },
      ['sh', '-c', 'for f in part*.txt; do mv "$f" all.txt; done'],
    );
  });

  test('shell truncation > file', async () => {
    await roundTrip(sb, 'truncate', (d) => writeFileSync(join(d, 'important.txt'), randomBytes(9, 5000)), [
      'sh',
      '-c',
      ': > important.txt',
    ]);
  });

  test('sed -i', async () => {
    await roundTrip(
      sb,
      'sedi',
      (d) => writeFileSync(join(d, 'config.ini'), 'name = warden\nmode = strict\n'),
      ['sed', '-i', 's/strict/off/', 'config.ini'],
    );
  });

  test('python shutil.rmtree', async () => {
    await roundTrip(sb, 'rmtree', (d) => randomTree(join(d, 'pkg'), 4), [
      'python3',
      '-c',
      'import shutil; shutil.rmtree("pkg")',
    ]);
  });

  test('node fs.rmSync({recursive: true})', async () => {
    await roundTrip(sb, 'rmsync', (d) => randomTree(join(d, 'out'), 5), [
      process.execPath,
      '-e',
      'require("fs").rmSync("out", { recursive: true, force: true })',
    ]);
  });

  test('overwrite of a sqlite database file', async () => {
    await roundTrip(
      sb,
      'sqlite',
      (d) => {
        sqliteDb(join(d, 'app.db'), 500);
        sqliteDb(join(d, 'empty.db'), 1);
      },
      [
        'sh',
        '-c',
        "cp empty.db app.db && python3 -c \"import sqlite3; db=sqlite3.connect('app.db'); db.execute('delete from t'); db.commit()\"",
      ],
    );
  });

  test('chmod -R', async () => {
    await roundTrip(sb, 'chmodr', (d) => randomTree(join(d, 't'), 6), ['chmod', '-R', 'a-w,u+x', 't']);
  });

  test('rollback undoes files the run created (moved aside into the state dir, not lost)', async () => {
    const { log } = await roundTrip(sb, 'creates', (d) => mkdirSync(join(d, 'keep')), [
      'sh',
      '-c',
      'mkdir -p gen/a && echo x > gen/a/f && echo y > keep/new',
    ]);
    assert.ok(eventsOf(log, 'create').length >= 2);
    assert.ok(existsSync(join(sb.state, 'rollbacks')), 'rollbacks folder exists');
  });

  test("rollback restores the workspace and leaves the agent's own state alone unless --all", async () => {
    const session = join(sb.home, '.claude', 'projects', 'session.jsonl');
    await roundTrip(sb, 'scope', (d) => randomTree(join(d, 't'), 8, 2, 2), [
      'sh',
      '-c',
      `rm -rf t && mkdir -p "$(dirname '${session}')" && echo transcript > '${session}'`,
    ]);
    assert.equal(readFileSync(session, 'utf8'), 'transcript\n', 'the agent transcript survives the rollback');
    const all = warden(sb, ['rollback', '--run', 'last', '--all', '--dry-run', '--json']);
    assert.equal(all.status, 0, all.stderr);
    const steps = (JSON.parse(all.stdout) as { steps: { path: string }[] }).steps.map((s) => s.path);
    assert.ok(steps.includes(session), '--all plans the agent state too');
  });

  test('the journal records argv and the process of each event', async () => {
    const { log } = await roundTrip(sb, 'argv', (d) => writeFileSync(join(d, 'a.txt'), 'a'), [
      'sh',
      '-c',
      'rm a.txt',
    ]);
    const del = eventsOf(log, 'delete')[0]!;
    assert.equal(del.path, join(sb.ws, 'argv', 'a.txt'));
    assert.equal(del.ruleId, 'delay-workspace-delete');
    assert.equal(readFileSync(join(sb.ws, 'argv', 'a.txt'), 'utf8'), 'a');
  });
});
