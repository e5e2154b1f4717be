import { test, after } from 'node:test';
import assert from 'node:assert/strict';
import * as fs from 'node:fs';
import { join } from 'node:path';
import { ingestRun } from '../../core/journal/ingest.js';
import { applyRollback, type ApplyResult } from '../../core/rollback/apply.js';
import { planRollback, type PlanOptions, type RollbackPlan } from '../../core/rollback/plan.js';
import { FakeRun } from '../helpers/fake-run.js';
import { journalEnv } from '../helpers/journal-env.js';
import { diffTrees, hashTree, makeTree, type EntrySpec } from '../helpers/tree.js';

const env = journalEnv('rollback');
after(() => env.close());
let nextRun = 1;
const T0 = 1_600_000_000_000; // a fixed mtime (ms) so restored times are checked

/** A case dir under the workspace, populated from `spec` with fixed mtimes. */
function caseDir(name: string, spec: Record<string, EntrySpec>): string {
  const dir = join(env.ws, name);
  const withTimes = Object.fromEntries(
    Object.entries(spec).map(([k, v]) => [
      k,
      typeof v === 'string' || Buffer.isBuffer(v) ? { content: v, mtimeMs: T0 } : { mtimeMs: T0, ...v },
    ]),
  );
  makeTree(dir, withTimes);
  return dir;
}

/** Runs `body` as a fake supervised run, ingests it and returns the run id. */
function runOf(body: (r: FakeRun) => void, end = true): number {
  const r = new FakeRun(env.stateDir, nextRun++);
  env.journal.createRun({ id: r.run, argv: ['agent'], workspace: env.ws });
  r.start();
  body(r);
  if (end) r.end();
  else r.close();
  ingestRun(env.journal, env.blobs, { runId: r.run, eventsPath: r.eventsPath, stageDir: r.stageDir });
  return r.run;
}

function rollback(run: number, o: PlanOptions = {}): { plan: RollbackPlan; res: ApplyResult } {
  const plan = planRollback(env.journal, run, o);
  const res = applyRollback(env.journal, env.blobs, plan, { stateDir: env.stateDir });
  assert.deepEqual(res.errors, []);
  return { plan, res };
}

/** Asserts the tree under `dir` equals `before` (content, mode, symlink targets, file mtimes). */
function assertSame(dir: string, before: Map<string, string>, dirMtime = false): void {
  assert.deepEqual(diffTrees(before, hashTree(dir, { mtime: true, dirMtime })), []);
}

// Directory mtimes are restored from the rmdir pre-image, which the helper takes after the children are gone:
// the original mtime of a directory whose children were deleted is not in the wire data, so it is not compared.
test('nested delete (rm -rf) is restored with modes and times, directories included', () => {
  const dir = caseDir('nested', {
    'tree/a.txt': 'a',
    'tree/b/c.sh': { content: '#!/bin/sh\n', mode: 0o755 },
    'tree/b/d/e': { content: 'secret', mode: 0o600 },
    'tree/b/d': { dir: true, mode: 0o750 },
    'tree/link': { symlink: 'b/c.sh' },
  });
  const before = hashTree(dir, { mtime: true });
  const run = runOf((r) => r.rmTree(join(dir, 'tree')));
  assert.equal(fs.existsSync(join(dir, 'tree')), false);
  const { plan } = rollback(run);
  assert.deepEqual(
    plan.steps.map((s) => s.action).slice(0, 1),
    ['mkdir'],
    'the top directory comes back first',
  );
  assert.deepEqual(plan.steps.map((s) => s.action).sort(), [
    'mkdir',
    'mkdir',
    'mkdir',
    'restore',
    'restore',
    'restore',
    'symlink',
  ]);
  assertSame(dir, before);
  assert.equal(env.journal.getRollback(1)?.status, 'applied');
});

test('overwrite and truncate are undone', () => {
  const dir = caseDir('over', { f: 'original', g: 'long content here', h: { content: 'x', mode: 0o640 } });
  const before = hashTree(dir, { mtime: true });
  const run = runOf((r) => {
    r.write(join(dir, 'f'), 'changed');
    r.write(join(dir, 'f'), 'changed again');
    r.truncate(join(dir, 'g'), 4);
    r.truncate(join(dir, 'h'), 0);
    r.write(join(dir, 'h'), 'refilled');
  });
  rollback(run);
  assertSame(dir, before);
});

test('rename-over and a rename chain are undone', () => {
  const dir = caseDir('ren', { a: 'A', b: 'B (replaced)', x: 'X', y: { content: 'Y', mode: 0o600 } });
  const before = hashTree(dir, { mtime: true });
  const run = runOf((r) => {
    r.rename(join(dir, 'a'), join(dir, 'b')); // over an existing file
    r.rename(join(dir, 'x'), join(dir, 'x2')); // chain x -> x2 -> x3
    r.rename(join(dir, 'x2'), join(dir, 'x3'));
    r.rename(join(dir, 'y'), join(dir, 'x')); // reuse a vacated name
  });
  rollback(run);
  assertSame(dir, before);
});

test('create, mkdir and create+remove are undone; created files go aside, not away', () => {
  const dir = caseDir('create', { keep: 'k' });
  const before = hashTree(dir, { mtime: true });
  const run = runOf((r) => {
    r.write(join(dir, 'tmp'), 'scratch');
    r.unlink(join(dir, 'tmp'));
    r.mkdir(join(dir, 'newdir'));
    r.write(join(dir, 'newdir', 'made'), 'agent output');
    r.symlink('keep', join(dir, 'alias'));
  });
  const { res } = rollback(run);
  assertSame(dir, before);
  const aside = res.movedAside.find((m) => m.path.endsWith('/newdir/made'));
  assert.equal(fs.readFileSync(aside?.aside as string, 'utf8'), 'agent output');
  assert.ok(!res.movedAside.some((m) => m.path.endsWith('/tmp')), 'own intermediate restores are not kept');
});

test('chmod, symlink delete and empty dir delete are undone', () => {
  const dir = caseDir('meta', {
    f: { content: 'f', mode: 0o644 },
    s: { symlink: '../elsewhere/target' },
    e: { dir: true, mode: 0o750 },
  });
  const before = hashTree(dir, { mtime: true });
  const run = runOf((r) => {
    r.chmod(join(dir, 'f'), 0o777);
    r.unlink(join(dir, 's'));
    r.rmdir(join(dir, 'e'));
  });
  rollback(run);
  assertSame(dir, before);
});

test('odd names: spaces, newlines, non-UTF-8 bytes', () => {
  const raw = (name: number[]) => Buffer.concat([Buffer.from(join(env.ws, 'odd') + '/'), Buffer.from(name)]);
  const dir = caseDir('odd', {
    'with space.txt': 's',
    'new\nline': 'n',
    'hex:ff6e616d65': 'latin',
    'hex:c3': 'c3',
  });
  const before = hashTree(dir, { mtime: true });
  const run = runOf((r) => {
    r.unlink(join(dir, 'with space.txt'));
    r.write(join(dir, 'new\nline'), 'changed');
    r.unlink(raw([0xff, 0x6e, 0x61, 0x6d, 0x65]));
    r.rename(raw([0xc3]), raw([0xfe, 0x20]));
    r.write(raw([0x80]), 'created with a raw name');
  });
  const { plan } = rollback(run);
  assert.ok(plan.steps.some((s) => s.pathHex !== undefined));
  assertSame(dir, before);
});

test('a path changed after the run is a conflict: reported, skipped, applied with force (moved aside)', () => {
  const dir = caseDir('later', { f: 'run deleted me', g: 'run overwrote me', h: 'untouched by the user' });
  const before = hashTree(dir, { mtime: true });
  const run = runOf((r) => {
    r.unlink(join(dir, 'f'));
    r.write(join(dir, 'g'), 'the run wrote this');
    r.write(join(dir, 'h'), 'the run wrote this too');
  });
  // Later work: a new f where the run left none, an edit of g after the run ended.
  const later = Date.now() / 1000 + 5;
  fs.writeFileSync(join(dir, 'f'), 'user wrote this after the run');
  fs.writeFileSync(join(dir, 'g'), 'user edited this after the run');
  fs.utimesSync(join(dir, 'g'), later, later);
  const plan = planRollback(env.journal, run);
  assert.deepEqual(plan.conflicts.map((c) => [c.path, c.seqs]).sort(), [
    [join(dir, 'f'), [1]],
    [join(dir, 'g'), [2]],
  ]);
  assert.match(
    plan.conflicts.find((c) => c.path === join(dir, 'f'))?.reason ?? '',
    /exists now.*left it absent/,
  );
  assert.match(
    plan.conflicts.find((c) => c.path === join(dir, 'g'))?.reason ?? '',
    /modified after the run ended/,
  );
  assert.ok(plan.steps.find((s) => s.seq === 2)?.conflict);
  assert.equal(plan.steps.find((s) => s.seq === 3)?.conflict, undefined);

  // Without force: conflicting steps are skipped and the later work stays; the rest is restored.
  const res = applyRollback(env.journal, env.blobs, plan, { stateDir: env.stateDir });
  assert.deepEqual(res.errors, []);
  assert.deepEqual(res.conflicts.map((c) => c.seq).sort(), [1, 2]);
  assert.equal(fs.readFileSync(join(dir, 'f'), 'utf8'), 'user wrote this after the run');
  assert.equal(fs.readFileSync(join(dir, 'g'), 'utf8'), 'user edited this after the run');
  assert.equal(fs.readFileSync(join(dir, 'h'), 'utf8'), 'untouched by the user');
  assert.deepEqual(
    res.movedAside.map((m) => m.path),
    [join(dir, 'h')],
    "only the run's own version of h was in the way",
  );

  // With force: restored; the later work is moved aside, not lost.
  const plan2 = planRollback(env.journal, run);
  assert.deepEqual(plan2.conflicts.map((c) => c.path).sort(), [join(dir, 'f'), join(dir, 'g')]);
  const res2 = applyRollback(env.journal, env.blobs, plan2, { stateDir: env.stateDir, force: true });
  assert.deepEqual(res2.errors, []);
  assert.deepEqual(res2.conflicts, []);
  assertSame(dir, before);
  const aside = new Map(res2.movedAside.map((m) => [m.path, m.aside]));
  assert.deepEqual([...aside.keys()].sort(), [join(dir, 'f'), join(dir, 'g'), join(dir, 'h')]);
  assert.equal(fs.readFileSync(aside.get(join(dir, 'f')) as string, 'utf8'), 'user wrote this after the run');
  assert.equal(
    fs.readFileSync(aside.get(join(dir, 'g')) as string, 'utf8'),
    'user edited this after the run',
  );
  for (const a of aside.values())
    assert.ok(a.startsWith(join(env.stateDir, 'rollbacks', String(res2.rollbackId), 'aside')));
});

test('conflicts: a created file removed by the user, a deleted dir recreated, a renamed file edited', () => {
  const dir = caseDir('conf2', { src: 'moved by the run', 'd/x': 'x' });
  const run = runOf((r) => {
    r.write(join(dir, 'new'), 'created by the run');
    r.rename(join(dir, 'src'), join(dir, 'dst'));
    r.rmTree(join(dir, 'd'));
  });
  fs.rmSync(join(dir, 'new'));
  fs.mkdirSync(join(dir, 'd'));
  fs.appendFileSync(join(dir, 'dst'), ' and edited later');
  const later = Date.now() / 1000 + 5;
  fs.utimesSync(join(dir, 'dst'), later, later);
  const plan = planRollback(env.journal, run);
  const reasons = Object.fromEntries(plan.conflicts.map((c) => [c.path.slice(dir.length + 1), c.reason]));
  assert.deepEqual(Object.keys(reasons).sort(), ['d', 'dst', 'new']);
  assert.match(reasons.new ?? '', /is gone/);
  assert.match(reasons.d ?? '', /exists now \(a dir\)/);
  assert.match(reasons.dst ?? '', /modified after/);
  const res = applyRollback(env.journal, env.blobs, plan, { stateDir: env.stateDir });
  assert.deepEqual(res.errors, []);
  // d/x comes back inside the user's d; dst stays where the user edited it; src is not recreated.
  assert.equal(fs.readFileSync(join(dir, 'd/x'), 'utf8'), 'x');
  assert.equal(fs.existsSync(join(dir, 'src')), false);
  assert.equal(fs.readFileSync(join(dir, 'dst'), 'utf8'), 'moved by the run and edited later');
});

test('paths filter and untilSeq limit the plan; toolarge and connect are irreversible', () => {
  const dir = caseDir('filter', { a: 'a', b: 'b', c: 'c' });
  let seqB = 0;
  const run = runOf((r) => {
    r.unlink(join(dir, 'a'));
    seqB = r.unlink(join(dir, 'b'));
    r.unlink(join(dir, 'c'));
    r.ev('write', 'openat', join(dir, 'huge'), null, { kind: 'toolarge', type: 'file', size: 1e9 });
    r.ev('connect', 'connect', '127.0.0.1:443', null, null);
    r.ev('delete', 'unlinkat', join(dir, 'denied'), null, null, { decision: 'deny', err: 13 });
  });
  const p1 = planRollback(env.journal, run, { paths: [`${dir}/a`] });
  assert.deepEqual(
    p1.steps.map((s) => s.path),
    [join(dir, 'a')],
  );
  const p2 = planRollback(env.journal, run, { untilSeq: seqB });
  assert.deepEqual(
    p2.steps.map((s) => s.path),
    [join(dir, 'c')],
  );
  assert.deepEqual(
    p2.irreversible.map((s) => s.note),
    ['network connection', 'overwritten: file above pre-image limit'],
  );
  rollback(run, { paths: [`${dir}/{a,b}`] });
  assert.deepEqual(fs.readdirSync(dir).sort(), ['a', 'b']);
});

test('a running run is not rolled back without force', () => {
  const dir = caseDir('running', { f: 'f' });
  const run = runOf((r) => r.unlink(join(dir, 'f')), false);
  const plan = planRollback(env.journal, run);
  assert.throws(
    () => applyRollback(env.journal, env.blobs, plan, { stateDir: env.stateDir }),
    /still running/,
  );
  applyRollback(env.journal, env.blobs, plan, { stateDir: env.stateDir, force: true });
  assert.equal(fs.readFileSync(join(dir, 'f'), 'utf8'), 'f');
});

test('speed: 10,000 deleted files restored', () => {
  const spec: Record<string, EntrySpec> = {};
  for (let i = 0; i < 10_000; i++) spec[`big/d${i % 100}/f${i}`] = `file ${i}\n`.repeat(20);
  const dir = caseDir('speed', spec);
  const before = hashTree(dir, { mtime: true });
  const run = runOf((r) => r.rmTree(join(dir, 'big')));
  const t0 = process.hrtime.bigint();
  const plan = planRollback(env.journal, run);
  const t1 = process.hrtime.bigint();
  const res = applyRollback(env.journal, env.blobs, plan, { stateDir: env.stateDir });
  const t2 = process.hrtime.bigint();
  assert.equal(res.errors.length, 0);
  assertSame(dir, before);
  const ms = (a: bigint, b: bigint) => (Number(b - a) / 1e6).toFixed(0);
  console.log(`rollback: plan ${ms(t0, t1)} ms, restore of 10,000 files in 101 dirs ${ms(t1, t2)} ms`);
});
