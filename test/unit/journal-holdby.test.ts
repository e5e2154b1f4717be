/**
 * Who ended a hold (person / policy / timeout / no-daemon) is journaled with the event and covered by the
 * row's HMAC; events without hold fields keep verifying as before (rows written before the columns existed).
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import Database from 'better-sqlite3';
import { join } from 'node:path';
import { journalEnv } from '../helpers/journal-env.js';
import { verifyJournal } from '../../core/journal/verify.js';

const base = {
  pid: 10,
  tid: 10,
  sys: 'unlinkat',
  path2: null,
  flags: null,
  band: '30-delete',
  pre: null,
  preSha: null,
  pre2: null,
  argv: null,
};

test('hold outcome is stored, returned and tamper-evident; plain events verify unchanged', () => {
  const env = journalEnv('holdby');
  try {
    const run = env.journal.createRun({ argv: ['rm', 'x'], cwd: env.ws, workspace: env.ws });
    const t = Date.now();
    env.journal.insertEvent({
      ...base,
      runId: run,
      seq: 1,
      ts: t,
      op: 'create',
      path: join(env.ws, 'a'),
      decision: 'allow',
      ruleId: 'allow-workspace',
      errno: 0,
    });
    env.journal.insertEvent({
      ...base,
      runId: run,
      seq: 2,
      ts: t,
      op: 'delete',
      path: join(env.ws, 'x'),
      decision: 'deny',
      ruleId: 'ask-x',
      errno: 1,
      holdId: 1,
      holdBy: 'timeout',
      heldMs: 4000,
    });
    const [plain, held] = env.journal.events(run);
    assert.equal(plain!.holdBy, null);
    assert.deepEqual([held!.holdId, held!.holdBy, held!.heldMs], [1, 'timeout', 4000]);
    assert.equal(verifyJournal(env.journal).ok, true);

    const db = new Database(join(env.stateDir, 'journal.db'));
    db.prepare("UPDATE events SET hold_by = 'person' WHERE seq = 2").run();
    db.close();
    const v = verifyJournal(env.journal);
    assert.equal(v.ok, false, 'changing who decided is detected');
    assert.equal(v.firstBad?.problem, 'edited');
    assert.equal(v.firstBad?.seq, 2);
  } finally {
    env.close();
  }
});
