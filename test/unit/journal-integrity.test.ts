// Issue 4: tamper-evident journal (hash chain + HMAC), redaction before storage, undo of a rollback,
// irreversibility ledger. Real SQLite, real files; tampering is done with better-sqlite3 directly.
import { test, after } from 'node:test';
import assert from 'node:assert/strict';
import * as fs from 'node:fs';
import { join } from 'node:path';
import Database from 'better-sqlite3';
import { ingestRun } from '../../core/journal/ingest.js';
import { Journal } from '../../core/journal/journal.js';
import { runLedger } from '../../core/journal/ledger.js';
import { REDACTED, redactArgv, redactDotenv, redactEnv } from '../../core/journal/redact.js';
import { showRun, verifyJournal } from '../../core/journal/verify.js';
import { applyRollback } from '../../core/rollback/apply.js';
import { planRollback } from '../../core/rollback/plan.js';
import { undoRollback } from '../../core/rollback/undo.js';
import { FakeRun } from '../helpers/fake-run.js';
import { journalEnv, type JournalEnv } from '../helpers/journal-env.js';
import { diffTrees, hashTree, makeTree } from '../helpers/tree.js';
import {
  renderConflicts,
  renderRunShow,
  renderVerify,
  runShow,
  verifyResult,
} from '../../core/cli/cmd-journal.js';

const envs: JournalEnv[] = [];
after(() => envs.forEach((e) => e.close()));
function fresh(name: string): JournalEnv {
  const e = journalEnv(name);
  envs.push(e);
  return e;
}

/** A fake run of `body`, ingested. */
function runOf(env: JournalEnv, id: number, body: (r: FakeRun) => void): number {
  const r = new FakeRun(env.stateDir, id);
  env.journal.createRun({ id, argv: ['agent'], workspace: env.ws });
  r.start();
  body(r);
  r.end();
  ingestRun(env.journal, env.blobs, { runId: id, eventsPath: r.eventsPath, stageDir: r.stageDir });
  return id;
}

/** A journal with two runs of 5 events and a few processes; returns the env and an open raw connection. */
function populated(name: string): { env: JournalEnv; db: Database.Database } {
  const env = fresh(name);
  for (const id of [1, 2]) {
    runOf(env, id, (r) => {
      r.proc(100 + id, 1, ['sh', '-c', 'make']);
      for (let i = 0; i < 5; i++) r.write(join(env.ws, `r${id}-f${i}`), `content ${i}`);
    });
  }
  return { env, db: new Database(join(env.stateDir, 'journal.db')) };
}

test('verify passes on an untouched journal, and the key is 0600 outside the database', () => {
  const { env, db } = populated('v-ok');
  const v = verifyJournal(env.journal);
  assert.equal(v.ok, true, JSON.stringify(v.firstBad));
  assert.equal(v.tables.events, 10);
  assert.equal(v.tables.processes, 2);
  const key = fs.readFileSync(join(env.stateDir, 'journal.key'));
  assert.equal(key.length, 32);
  assert.equal(fs.statSync(join(env.stateDir, 'journal.key')).mode & 0o777, 0o600);
  // The key appears nowhere in the database file.
  db.pragma('wal_checkpoint(TRUNCATE)');
  assert.equal(fs.readFileSync(join(env.stateDir, 'journal.db')).includes(key), false);
  // Reopening keeps the key and the chain.
  const again = new Journal(join(env.stateDir, 'journal.db'));
  assert.equal(verifyJournal(again).ok, true);
  again.close();
  // A wrong key fails at the first row.
  assert.equal(verifyJournal(env.journal, Buffer.alloc(32, 7)).firstBad?.problem, 'edited');
  db.close();
});

test('verify detects an edited row', () => {
  const { env, db } = populated('v-edit');
  const row = db.prepare('SELECT id, seq, run_id FROM events WHERE run_id = 2 AND seq = 3').get() as {
    id: number;
  };
  db.prepare("UPDATE events SET path = '/etc/innocent' WHERE id = ?").run(row.id);
  const v = verifyJournal(env.journal);
  assert.equal(v.ok, false);
  assert.deepEqual(
    { ...v.firstBad, detail: undefined },
    { table: 'events', id: row.id, seq: 3, run: 2, problem: 'edited', detail: undefined },
  );
  db.close();
});

test('verify detects a deleted row (in the middle and at the end)', () => {
  const { env, db } = populated('v-del');
  const victim = db.prepare('SELECT id FROM events WHERE run_id = 1 AND seq = 4').get() as { id: number };
  db.prepare('DELETE FROM events WHERE id = ?').run(victim.id);
  const v = verifyJournal(env.journal);
  assert.equal(v.firstBad?.problem, 'deleted');
  assert.equal(v.firstBad?.run, 1);
  assert.equal(v.firstBad?.seq, 5, 'reported at the row after the gap');
  db.close();

  const b = populated('v-del-tail');
  b.db.prepare('DELETE FROM events WHERE id = (SELECT max(id) FROM events)').run();
  const w = verifyJournal(b.env.journal);
  assert.equal(w.firstBad?.problem, 'deleted');
  assert.match(w.firstBad?.detail ?? '', /newest/);
  b.db.close();
});

test('verify detects a swapped pair (reordering), and a row inserted without the key', () => {
  const { env, db } = populated('v-swap');
  const [a, b] = db.prepare('SELECT id FROM events WHERE run_id = 1 AND seq IN (2, 3) ORDER BY id').all() as {
    id: number;
  }[];
  // Swap the two rows' positions: every column but the id moves.
  db.transaction(() => {
    db.prepare('UPDATE events SET id = -1 WHERE id = ?').run(a?.id);
    db.prepare('UPDATE events SET id = ? WHERE id = ?').run(a?.id, b?.id);
    db.prepare('UPDATE events SET id = ? WHERE id = -1').run(b?.id);
  })();
  const v = verifyJournal(env.journal);
  assert.equal(v.firstBad?.problem, 'reordered');
  assert.equal(v.firstBad?.id, a?.id);
  assert.equal(v.firstBad?.seq, 3);
  db.close();

  const c = populated('v-insert');
  const mid = c.db.prepare('SELECT * FROM events WHERE run_id = 1 AND seq = 2').get() as Record<
    string,
    unknown
  >;
  // Make room after seq 2 of run 1 and slip in a forged row with a copied (valid-looking) chain.
  c.db.transaction(() => {
    c.db.prepare('UPDATE events SET id = id + 1000 WHERE id > ?').run(mid.id);
    c.db.prepare('UPDATE events SET id = id - 999 WHERE id > 1000').run();
    c.db
      .prepare(
        `INSERT INTO events (id, run_id, seq, ts, op, decision, errno, path, prev_hash, hmac)
         VALUES (?, 1, 99, 1, 'delete', 'allow', 0, '/forged', ?, ?)`,
      )
      .run((mid.id as number) + 1, mid.hmac, mid.hmac);
  })();
  const w = verifyJournal(c.env.journal);
  assert.equal(w.firstBad?.problem, 'inserted');
  assert.equal(w.firstBad?.seq, 99);
  c.db.close();
});

test('verify covers processes and rollbacks (result edits too)', () => {
  const { env, db } = populated('v-tables');
  db.prepare('UPDATE processes SET argv = \'["sh"]\' WHERE id = 1').run();
  assert.deepEqual(
    [verifyJournal(env.journal).firstBad?.table, verifyJournal(env.journal).firstBad?.problem],
    ['processes', 'edited'],
  );
  db.close();

  const b = populated('v-rb');
  applyRollback(b.env.journal, b.env.blobs, planRollback(b.env.journal, 1), { stateDir: b.env.stateDir });
  assert.equal(verifyJournal(b.env.journal).ok, true);
  b.db.prepare("UPDATE rollbacks SET status = 'failed'").run();
  assert.deepEqual(
    [verifyJournal(b.env.journal).firstBad?.table, verifyJournal(b.env.journal).firstBad?.problem],
    ['rollbacks', 'edited'],
  );
  b.db.close();
});

test('migration chains the rows of an existing (v1) journal', () => {
  const env = fresh('v-migrate');
  const dbPath = join(env.stateDir, 'old.db');
  const j = new Journal(dbPath, { keyPath: join(env.stateDir, 'old.key') });
  // Rows as an older Warden left them: no chain fields, chain pending (what migration v2 sets up).
  j.createRun({ id: 1 });
  for (let s = 1; s <= 3; s++)
    j.insertEvent({ runId: 1, seq: s, ts: s, pid: 1, tid: 1, op: 'write', sys: 'openat', path: `/w/${s}`,
      path2: null, flags: 0, decision: 'allow', ruleId: null, band: null, errno: 0, pre: null, preSha: null,
      pre2: null, argv: null }); // prettier-ignore
  j.close();
  const raw = new Database(dbPath);
  raw.exec(
    'UPDATE events SET prev_hash = NULL, hmac = NULL; UPDATE chain_meta SET pending = 1; DELETE FROM chain_heads',
  );
  raw.close();
  const k = new Journal(dbPath, { keyPath: join(env.stateDir, 'old.key') });
  const v = verifyJournal(k);
  assert.equal(v.ok, true, JSON.stringify(v.firstBad));
  assert.equal(v.tables.events, 3);
  k.close();
  // Sealing happens once: a row with no chain fields later is an insertion, not re-sealed.
  const raw2 = new Database(dbPath);
  raw2.prepare("INSERT INTO events (run_id, seq, ts, op, decision) VALUES (1, 4, 4, 'write', 'allow')").run();
  raw2.close();
  const l = new Journal(dbPath, { keyPath: join(env.stateDir, 'old.key') });
  assert.equal(verifyJournal(l).firstBad?.problem, 'inserted');
  l.close();
});

test('redaction: argv samples', () => {
  const r = (argv: string[]) => redactArgv(argv);
  assert.deepEqual(r(['mysql', '-uroot', '-phunter2', 'db']), ['mysql', '-uroot', `-p${REDACTED}`, 'db']);
  assert.deepEqual(r(['mysql', '-p', 'db']), ['mysql', '-p', 'db'], '-p alone prompts; db is not a password');
  assert.deepEqual(r(['psql', '--password=s3cr3t!', 'x']), ['psql', `--password=${REDACTED}`, 'x']);
  assert.deepEqual(r(['gh', 'auth', 'login', '--token', 'abc123']), [
    'gh',
    'auth',
    'login',
    '--token',
    REDACTED,
  ]);
  assert.deepEqual(r(['tool', '--api-key', 'k-1']), ['tool', '--api-key', REDACTED]);
  assert.deepEqual(r(['curl', '-H', 'Authorization: Bearer eyJhbGciOiJIUzI1NiJ9.abc.def', 'https://api.x']), [
    'curl', '-H', `Authorization: Bearer ${REDACTED}`, 'https://api.x',
  ]); // prettier-ignore
  assert.deepEqual(r(['curl', '-u', 'alice:pa55word', 'https://x']), [
    'curl',
    '-u',
    `alice:${REDACTED}`,
    'https://x',
  ]);
  assert.deepEqual(r(['git', 'clone', 'https://bob:ghs_notreal0123456789abcdefghij@github.com/o/r.git']), [
    'git', 'clone', `https://bob:${REDACTED}@github.com/o/r.git`,
  ]); // prettier-ignore
  assert.deepEqual(r(['psql', 'postgres://app:Tr0ub4dor@db:5432/app']), [
    'psql',
    `postgres://app:${REDACTED}@db:5432/app`,
  ]);
  const samples = [
    'sk-proj-AbCdEfGhIjKlMnOpQrStUvWxYz0123456789',
    'sk-ant-api03-AbCdEfGhIjKlMnOpQrStUvWx-yz0123456789',
    'ghp_16C7e42F292c6912E7710c838347Ae178B4a',
    'xoxb-123456789012-1234567890123-AbCdEfGhIjKlMnOpQrStUvWx',
    'AKIAIOSFODNN7EXAMPLE',
  ];
  for (const s of samples) {
    assert.deepEqual(r(['echo', s]), ['echo', REDACTED], s);
    assert.deepEqual(r(['sh', '-c', `echo ${s} | tool`]), ['sh', '-c', `echo ${REDACTED} | tool`], s);
  }
  assert.deepEqual(r(['deploy', '--sig=9fQ2xLk7Vb3mN8pR1tYw4ZcA6sHd0Ej5']), ['deploy', `--sig=${REDACTED}`]);
  assert.deepEqual(r(['env', 'OPENAI_API_KEY=abc', 'DB_PASSWORD=x', 'PATH=/usr/bin', 'node', 'a.js']), [
    'env', `OPENAI_API_KEY=${REDACTED}`, `DB_PASSWORD=${REDACTED}`, 'PATH=/usr/bin', 'node', 'a.js',
  ]); // prettier-ignore
  assert.deepEqual(r(['sh', '-c', 'GITHUB_TOKEN=abc123 gh pr list']), [
    'sh',
    '-c',
    `GITHUB_TOKEN=${REDACTED} gh pr list`,
  ]);
  // Ordinary arguments are left alone.
  const plain = ['git', 'commit', '-m', 'Fix the key handling in parser', '--author=Jane Doe <j@x.org>',
    '--sort-key', 'name', 'a1b2c3d4e5f60718293a4b5c6d7e8f9012345678', '--output=/tmp/build/out.tar.gz', '-p', '8080']; // prettier-ignore
  assert.deepEqual(r(plain), plain);
  assert.deepEqual(
    redactEnv({ HOME: '/home/u', AWS_SECRET_ACCESS_KEY: 'wJalrXUtnFEMI/K7MDENG/bPxRfiCYEXAMPLEKEY' }),
    {
      HOME: '/home/u',
      AWS_SECRET_ACCESS_KEY: REDACTED,
    },
  );
  assert.equal(
    redactDotenv(
      '# db\nDB_HOST=localhost\nDB_PASS="p@ss word"\nexport STRIPE_KEY=sk_live_abcdefghijklmnop1234\n\n',
    ),
    `# db\nDB_HOST=${REDACTED}\nDB_PASS=${REDACTED}\nexport STRIPE_KEY=${REDACTED}\n\n`,
  );
});

test('redaction is applied at ingest to proc and ev argv (and the run argv)', () => {
  const env = fresh('redact-ingest');
  const r = new FakeRun(env.stateDir, 1);
  env.journal.createRun({ id: 1, argv: ['agent', '--api-key=sk-ant-api03-AbCdEfGhIjKlMnOpQrStUvWx'] });
  r.start();
  r.proc(7, 1, ['mysql', '-proot-pw', 'app']);
  r.ev('exec', 'execve', '/usr/bin/curl', null, null, {
    argv: ['curl', '-H', 'Authorization: Bearer abcdef0123456789', 'https://x'],
  });
  r.end();
  ingestRun(env.journal, env.blobs, { runId: 1, eventsPath: r.eventsPath, stageDir: r.stageDir });
  assert.deepEqual(env.journal.getRun(1)?.argv, ['agent', `--api-key=${REDACTED}`]);
  assert.deepEqual(env.journal.processChain(1, 7)[0]?.argv, ['mysql', `-p${REDACTED}`, 'app']);
  assert.deepEqual(env.journal.events(1)[0]?.argv, [
    'curl',
    '-H',
    `Authorization: Bearer ${REDACTED}`,
    'https://x',
  ]);
  const db = new Database(join(env.stateDir, 'journal.db'), { readonly: true });
  const dump = JSON.stringify(
    db.prepare('SELECT argv FROM processes UNION ALL SELECT argv FROM events').all(),
  );
  assert.equal(/root-pw|abcdef0123456789/.test(dump), false);
  db.close();
  assert.equal(verifyJournal(env.journal).ok, true);
});

test('undo of a rollback returns the tree to the post-run state byte for byte, once, journaled', () => {
  const env = fresh('undo');
  const dir = join(env.ws, 'u');
  const T0 = 1_600_000_000_000;
  makeTree(dir, {
    'keep.txt': { content: 'original', mtimeMs: T0 },
    'del.txt': { content: 'deleted by the run', mtimeMs: T0 },
    'tree/a': { content: 'a', mtimeMs: T0 },
    'tree/sub/b': { content: 'b', mode: 0o600, mtimeMs: T0 },
    'mv-src': { content: 'moved', mtimeMs: T0 },
    'over-dst': { content: 'replaced by rename', mtimeMs: T0 },
    'mode.sh': { content: '#!/bin/sh\n', mode: 0o644, mtimeMs: T0 },
    link: { symlink: 'keep.txt' },
  });
  const beforeRun = hashTree(dir, { mtime: true });
  runOf(env, 1, (r) => {
    r.write(join(dir, 'keep.txt'), 'overwritten by the run');
    r.unlink(join(dir, 'del.txt'));
    r.rmTree(join(dir, 'tree'));
    r.mkdir(join(dir, 'newdir'));
    r.write(join(dir, 'newdir/made'), 'made by the run');
    r.rename(join(dir, 'mv-src'), join(dir, 'over-dst'));
    r.chmod(join(dir, 'mode.sh'), 0o755);
    r.unlink(join(dir, 'link'));
    r.symlink('newdir/made', join(dir, 'link'));
  });
  const afterRun = hashTree(dir, { mtime: true });
  const plan = planRollback(env.journal, 1);
  assert.deepEqual(plan.conflicts, []);
  const dirTimes = () => [dir, join(dir, 'newdir')].map((d) => Math.floor(fs.statSync(d).mtimeMs));
  const dirTimesAfterRun = dirTimes();
  const res = applyRollback(env.journal, env.blobs, plan, { stateDir: env.stateDir });
  assert.deepEqual(res.errors, []);
  assert.deepEqual(diffTrees(beforeRun, hashTree(dir, { mtime: true })), []);

  const undo = undoRollback(env.journal, env.blobs, res.rollbackId, { stateDir: env.stateDir });
  assert.deepEqual(undo.errors, []);
  assert.equal(undo.undoOf, res.rollbackId);
  assert.deepEqual(diffTrees(afterRun, hashTree(dir, { mtime: true })), [], 'post-run state, byte for byte');
  assert.deepEqual(undo.movedAside, [], 'nothing was in the way');
  assert.deepEqual(dirTimes(), dirTimesAfterRun, 'directory times are back too');
  assert.equal(fs.existsSync(join(env.stateDir, 'rollbacks', String(res.rollbackId), 'aside')), false);

  // Recorded: the original is 'undone' (by the undo), the undo is a rollback row of its own.
  assert.equal(env.journal.getRollback(res.rollbackId)?.status, 'undone');
  assert.equal(env.journal.getRollback(undo.rollbackId)?.status, 'applied');
  assert.deepEqual(env.journal.getRollback(undo.rollbackId)?.plan, { undoOf: res.rollbackId });
  const shown = showRun(env.journal, 1);
  assert.deepEqual(
    shown.rollbacks.map((b) => [b.id, b.status, b.undoOf, b.undoneBy]),
    [
      [res.rollbackId, 'undone', null, undo.rollbackId],
      [undo.rollbackId, 'applied', res.rollbackId, null],
    ],
  );
  // Once only; an undo cannot itself be undone.
  assert.throws(
    () => undoRollback(env.journal, env.blobs, res.rollbackId, { stateDir: env.stateDir }),
    /already undone/,
  );
  assert.throws(
    () => undoRollback(env.journal, env.blobs, undo.rollbackId, { stateDir: env.stateDir }),
    /itself the undo/,
  );
  assert.equal(verifyJournal(env.journal).ok, true);

  // The run can be rolled back again after the undo.
  const plan2 = planRollback(env.journal, 1);
  assert.deepEqual(plan2.conflicts, [], 'after the undo, nothing looks changed since the run');
  const again = applyRollback(env.journal, env.blobs, plan2, { stateDir: env.stateDir });
  assert.deepEqual(again.errors, []);
  assert.deepEqual(diffTrees(beforeRun, hashTree(dir, { mtime: true })), []);
});

test('undo keeps what changed after the rollback (moved aside, not deleted)', () => {
  const env = fresh('undo-later');
  const dir = join(env.ws, 'u');
  makeTree(dir, { f: 'v1' });
  runOf(env, 1, (r) => r.write(join(dir, 'f'), 'v2 by the run'));
  const res = applyRollback(env.journal, env.blobs, planRollback(env.journal, 1), { stateDir: env.stateDir });
  fs.writeFileSync(join(dir, 'f'), 'v3 by the user after the rollback');
  const undo = undoRollback(env.journal, env.blobs, res.rollbackId, { stateDir: env.stateDir });
  assert.deepEqual(undo.errors, []);
  assert.equal(fs.readFileSync(join(dir, 'f'), 'utf8'), 'v2 by the run');
  assert.equal(undo.movedAside.length, 1);
  assert.equal(
    fs.readFileSync(undo.movedAside[0]?.aside as string, 'utf8'),
    'v3 by the user after the rollback',
  );
});

test('irreversibility ledger and runs show', () => {
  const env = fresh('ledger');
  const dir = join(env.ws, 'l');
  makeTree(dir, { a: 'a', b: 'b' });
  runOf(env, 1, (r) => {
    r.unlink(join(dir, 'a'));
    r.ev('write', 'openat', join(dir, 'huge.iso'), null, { kind: 'toolarge', type: 'file', size: 5e9 });
    r.ev('connect', 'connect', 'tcp:140.82.112.3:443', null, null);
    r.ev('exec', 'execve', '/usr/bin/git', null, null, { argv: ['git', 'push', 'origin', 'main'] });
    r.ev('exec', 'execve', '/usr/bin/ls', null, null, { argv: ['ls', '-la'] });
    r.ev('delete', 'unlinkat', join(dir, 'lost'), null, { kind: 'link', type: 'file', size: 3 }); // no stage file
    r.ev('delete', 'unlinkat', join(dir, 'b'), null, { kind: 'link', type: 'file' }, { decision: 'steer' });
    r.ev('connect', 'connect', 'tcp:10.0.0.1:22', null, null, { decision: 'deny', err: 13 });
  });
  const ledger = runLedger(env.journal, 1);
  assert.deepEqual(
    ledger.map((l) => [l.seq, l.op]),
    [
      [2, 'write'],
      [3, 'connect'],
      [4, 'exec'],
      [6, 'delete'],
    ],
  );
  assert.match(ledger[0]?.why ?? '', /size limit \(5000000000 bytes\)/);
  assert.match(ledger[2]?.why ?? '', /git push.*\(git push origin main\)/);
  assert.match(ledger[3]?.why ?? '', /pre-image missing/);
  const shown = showRun(env.journal, 'last');
  assert.equal(shown.run.id, 1);
  assert.deepEqual(shown.ledger, ledger);
  assert.equal(shown.summary.events, 8);
  assert.ok(shown.faults.some((f) => /pre-image missing for seq 6/.test(f.what)));
});

test('renderings of verify, runs show and conflicts', async () => {
  const { env, db } = populated('cli');
  db.prepare('UPDATE events SET ts = 0 WHERE id = 3').run();
  assert.match(
    renderVerify(verifyResult.parse(verifyJournal(env.journal))),
    /FAILED .*edited at events row 3, run 1, event #3/,
  );
  db.close();
  const text = renderRunShow(runShow.parse(JSON.parse(JSON.stringify(showRun(env.journal, 1)))));
  assert.match(text, /^Run 1: agent\n/);
  assert.match(text, /Irreversible: nothing/);
  assert.match(
    renderConflicts({ conflicts: [{ path: '/w/f', reason: 'is gone', seqs: [3] }] }),
    /conflict {2}\/w\/f {2}\(is gone\) {2}\[event #3\]/,
  );
});

test('wire: held events carry a numeric hold id (WIRE.md §3), the old "unsupported" string still parses', async () => {
  const { parseEventLine } = await import('../../core/wire/events.js');
  const base = {
    t: 'ev',
    seq: 2,
    ts: 1,
    pid: 1,
    tid: 1,
    op: 'delete',
    sys: 'unlinkat',
    path: '/w/a',
    decision: 'allow',
    err: 0,
  };
  const l = parseEventLine(JSON.stringify({ ...base, hold: 7, by: 'timeout', held_ms: 2003, held: 'delay' }));
  assert.equal(l.t === 'ev' && l.hold, 7);
  assert.equal(parseEventLine(JSON.stringify({ ...base, decision: 'steer', hold: 'unsupported' })).t, 'ev');
});

test('chain: rowHmac is HMAC-SHA256; a rolled-back transaction leaves the chain intact', async () => {
  const { createHmac } = await import('node:crypto');
  const { rowHmac } = await import('../../core/journal/chain.js');
  const key = Buffer.alloc(32, 9);
  const prev = Buffer.alloc(32, 1);
  assert.ok(
    rowHmac(key, 'events', '[1,"x"]', prev).equals(
      createHmac('sha256', key).update('events\0[1,"x"]').update(prev).digest(),
    ),
  );
  const env = fresh('rolled-back');
  const j = env.journal;
  j.createRun({ id: 1 });
  const ev = (seq: number) => ({ runId: 1, seq, ts: seq, pid: 1, tid: 1, op: 'write', sys: 'openat',
    path: `/w/${seq}`, path2: null, flags: 0, decision: 'allow', ruleId: null, band: null, errno: 0, pre: null,
    preSha: null, pre2: null, argv: null }); // prettier-ignore
  j.insertEvent(ev(1));
  assert.throws(() =>
    j.transaction(() => {
      j.insertEvent(ev(2));
      j.insertProcess({ runId: 1, pid: 1, ppid: null, argv: ['x'], exe: null, cwd: null, ts: 1 });
      throw new Error('boom');
    }),
  );
  j.transaction(() => {
    j.insertEvent(ev(3));
    try {
      j.transaction(() => {
        j.insertEvent(ev(4));
        throw new Error('inner');
      });
    } catch {
      /* the savepoint is rolled back, the outer transaction goes on */
    }
    j.insertEvent(ev(5));
  });
  j.insertEvent(ev(6));
  assert.deepEqual(
    j.events(1).map((e) => e.seq),
    [1, 3, 5, 6],
  );
  const v = verifyJournal(j);
  assert.equal(v.ok, true, JSON.stringify(v.firstBad));
});
