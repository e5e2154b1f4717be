import { test, after } from 'node:test';
import assert from 'node:assert/strict';
import { join } from 'node:path';
import Database from 'better-sqlite3';
import { Journal } from '../../core/journal/journal.js';
import { SCHEMA_VERSION } from '../../core/journal/schema.js';
import { parseEventLine, type EvLine } from '../../core/wire/events.js';
import { journalEnv } from '../helpers/journal-env.js';

const env = journalEnv('journal');
after(() => env.close());

const ev = (seq: number, extra: Record<string, unknown> = {}) =>
  JSON.stringify({
    t: 'ev', seq, ts: 1000 + seq, pid: 11, tid: 11, op: 'write', sys: 'openat', path: `/ws/f${seq}`, path2: null,
    flags: 0, decision: 'allow', rule: 'allow-ws', band: '90-default', err: 0, pre: { kind: 'none' }, ...extra,
  }); // prettier-ignore

test('parseEventLine parses every line type', () => {
  assert.equal(
    parseEventLine('{"t":"start","run":1,"pid":5,"helper_pid":4,"ts":1,"landlock":7,"seccomp":true}').t,
    'start',
  );
  const p = parseEventLine(
    '{"t":"proc","pid":5,"ppid":4,"argv":["sh","-c","x"],"exe":"/bin/sh","cwd":"/","ts":1}',
  );
  assert.equal(p.t === 'proc' && p.argv[2], 'x');
  assert.equal(parseEventLine(ev(1)).t, 'ev');
  assert.equal(
    parseEventLine('{"t":"end","ts":2,"status":0,"signal":0,"events":3,"denied":0,"preimages":1}').t,
    'end',
  );
  assert.equal(parseEventLine('{"t":"fault","ts":3,"what":"stage dir full"}').t, 'fault');
});

test('parseEventLine decodes _hex fields to Buffers (paths) and strings (argv)', () => {
  const raw = Buffer.from([0x2f, 0x77, 0x73, 0x2f, 0xff, 0x0a]); // "/ws/\xff\n"
  const l = parseEventLine(
    ev(2, {
      path: undefined,
      path_hex: raw.toString('hex'),
      pre: { kind: 'meta', type: 'symlink', target_hex: 'ff' },
    }),
  ) as EvLine;
  assert.ok(Buffer.isBuffer(l.path) && l.path.equals(raw));
  assert.ok(Buffer.isBuffer(l.pre?.target) && l.pre.target.equals(Buffer.from([0xff])));
  const p = parseEventLine('{"t":"proc","pid":5,"ppid":4,"argv_hex":["6c73"],"ts":1}');
  assert.deepEqual(p.t === 'proc' && p.argv, ['ls']);
});

test('parseEventLine names the problem', () => {
  assert.throws(() => parseEventLine('{"t":"ev",'), /not valid JSON/);
  assert.throws(() => parseEventLine('{"t":"bogus"}'), /unknown type t="bogus"/);
  assert.throws(() => parseEventLine(ev(7, { op: 'teleport' })), /t=ev seq=7: op:/);
  assert.throws(() => parseEventLine(ev(8, { path_hex: 'zz' })), /seq=8: path_hex/);
});

test('schema is versioned and reopening does not re-migrate', () => {
  const db = new Database(join(env.stateDir, 'journal.db'), { readonly: true });
  assert.equal(
    (db.prepare('SELECT version FROM schema_version').get() as { version: number }).version,
    SCHEMA_VERSION,
  );
  assert.equal(db.pragma('journal_mode', { simple: true }), 'wal');
  db.close();
  const again = new Journal(join(env.stateDir, 'journal.db'));
  again.close();
});

test('runs: create, get, last, list, end', () => {
  const { journal: j } = env;
  const a = j.createRun({ argv: ['claude'], cwd: '/ws', workspace: '/ws', startedAt: 5 });
  const b = j.createRun({ argv: ['codex'] });
  assert.equal(j.getRun('last')?.id, b);
  assert.deepEqual(j.getRun(a)?.argv, ['claude']);
  assert.equal(j.getRun(a)?.status, 'running');
  assert.deepEqual(
    j.listRuns({ limit: 1 }).map((r) => r.id),
    [b],
  );
  j.endRun(a, { exitCode: 3, summary: { events: 0 }, endedAt: 9 });
  j.endRun(a, { signal: 'SIGTERM' }); // the daemon's later call keeps the helper's values
  const r = j.getRun(a);
  assert.deepEqual(
    [r?.status, r?.exitCode, r?.signal, r?.endedAt, r?.summary],
    ['ended', 3, 'SIGTERM', 9, { events: 0 }],
  );
  assert.equal(j.getRun(999), undefined);
});

test('events: filters, duplicates ignored, process chain, summary', () => {
  const { journal: j } = env;
  const run = j.createRun({});
  j.setRunStart(run, { helperPid: 1, rootPid: 10 });
  j.insertProcess({ runId: run, pid: 10, ppid: 1, argv: ['agent'], exe: null, cwd: null, ts: 1 });
  j.insertProcess({ runId: run, pid: 11, ppid: 10, argv: ['sh'], exe: null, cwd: null, ts: 2 });
  j.insertProcess({
    runId: run,
    pid: 11,
    ppid: 10,
    argv: ['rm', '-rf', 'x'],
    exe: '/bin/rm',
    cwd: '/ws',
    ts: 3,
  });
  const base = parseEventLine(ev(1)) as EvLine;
  const row = (seq: number, o: Partial<EvLine> = {}) => {
    const e = { ...base, seq, ...o };
    return j.insertEvent({
      runId: run, seq, ts: e.ts, pid: e.pid, tid: e.tid, op: e.op, sys: e.sys, path: e.path, path2: null,
      flags: 0, decision: e.decision, ruleId: 'r', band: 'b', errno: e.err, pre: e.pre ?? null, preSha: null,
      pre2: null, argv: null,
    }); // prettier-ignore
  };
  assert.ok(row(1));
  assert.ok(!row(1), 'duplicate seq ignored');
  row(2, { op: 'delete', decision: 'deny', err: 13 });
  row(3, { op: 'write', pre: { kind: 'toolarge', type: 'file' } });
  row(4, { op: 'connect', path: Buffer.from([0x2f, 0xfe]) });
  assert.deepEqual(
    j.events(run, { afterSeq: 1 }).map((e) => e.seq),
    [2, 3, 4],
  );
  assert.deepEqual(
    j.events(run, { op: 'delete' }).map((e) => e.seq),
    [2],
  );
  assert.equal(j.events(run, { limit: 2 }).length, 2);
  const e4 = j.events(run, { op: 'connect' })[0];
  assert.ok(Buffer.isBuffer(e4?.path), 'non-UTF-8 path comes back as a Buffer');
  assert.equal(j.events(run, { op: 'write' })[1]?.pre?.kind, 'toolarge');
  assert.deepEqual(j.processChain(run, 11), [
    { pid: 11, argv: ['rm', '-rf', 'x'] },
    { pid: 10, argv: ['agent'] },
  ]);
  assert.deepEqual(j.runSummary(run), { events: 4, denied: 1, preimages: 0, irreversible: 2 });
  assert.equal(j.maxSeq(run), 4);
});

test('rollbacks and faults are recorded', () => {
  const { journal: j } = env;
  const run = j.createRun({});
  const id = j.insertRollback(run, { steps: [] }, 'applying');
  j.finishRollback(id, { applied: 0 }, 'applied');
  assert.deepEqual(j.getRollback(id)?.result, { applied: 0 });
  j.insertFault(run, 5, 'boom');
  assert.deepEqual(j.faults(run), [{ ts: 5, what: 'boom' }]);
});
