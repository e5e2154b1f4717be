/**
 * Holds end to end, with the real daemon, the real helper and real commands: delete delays cancelled and not,
 * the bulk-delete gate approved and denied, an ask that times out, `git reset --hard` held with the dirty files
 * listed, an identical-command loop interrupted, a held delete that does not block other work, and an agent
 * trying to approve its own hold.
 */
import { describe, test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { existsSync, mkdirSync, readdirSync, writeFileSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import {
  makeSandbox,
  destroySandbox,
  runLog,
  warden,
  wardenAsync,
  wardenBin,
  type Sandbox,
} from '../helpers/warden.js';
import { gitRepo, randomBytes } from './fixtures.js';

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

interface PendingHold {
  id: string;
  decision: string;
  reason: string;
  op: string;
  path: string | null;
  argv: string[];
  rule: string;
  burst: { root: string; count: number } | null;
  preview: { kind: string; files?: number; lines?: string[] } | null;
}

/** Starts `warden run` in the background; resolves with its exit code and output when it ends. */
function startRun(sb: Sandbox, cmd: string[], extra: string[] = [], cwd = sb.ws) {
  const done = wardenAsync(sb, ['run', '--workspace', sb.ws, ...extra, '--', ...cmd], { cwd }).then((r) => ({
    code: r.code,
    out: r.output,
  }));
  return { done };
}

/** Polls `warden pending --json` until a hold matching `pred` shows up (or fails after `ms`). */
async function waitForHold(
  sb: Sandbox,
  pred: (h: PendingHold) => boolean,
  ms = 20_000,
): Promise<PendingHold> {
  const end = Date.now() + ms;
  while (Date.now() < end) {
    const r = warden(sb, ['pending', '--json']);
    if (r.status === 0) {
      const h = (JSON.parse(r.stdout) as PendingHold[]).find(pred);
      if (h) return h;
    }
    await sleep(100);
  }
  throw new Error('no matching hold appeared');
}

function files(dir: string, n: number): void {
  mkdirSync(dir, { recursive: true });
  for (let i = 0; i < n; i++) writeFileSync(join(dir, `f${i}.txt`), randomBytes(i + 1, 64));
}

describe('holds', () => {
  let sb: Sandbox;
  before(() => (sb = makeSandbox('holds')));
  after(() => destroySandbox(sb));

  test('a delete delay cancelled in time deletes nothing', async () => {
    files(join(sb.ws, 'keep'), 10);
    // a 15 s delay, so polling `warden pending` and cancelling fit in the window even on a loaded machine
    const slow = join(sb.outside, 'slow-delay.yaml');
    writeFileSync(slow, 'band: 95-slow-delay\nsettings:\n  delete_delay: 15s\n');
    const run = startRun(sb, ['rm', '-rf', 'keep'], ['--policy', slow]);
    const h = await waitForHold(sb, (x) => x.decision === 'delay' && x.op === 'delete');
    assert.equal(warden(sb, ['cancel', h.id]).status, 0);
    const { code } = await run.done;
    assert.notEqual(code, 0, 'rm reports the refused deletes');
    assert.equal(readdirSync(join(sb.ws, 'keep')).length, 10, 'nothing deleted');
  });

  test('a delete delay not cancelled lets the delete through after the delay, pre-images kept', async () => {
    files(join(sb.ws, 'gone'), 5);
    const t0 = Date.now();
    const { code, out } = await startRun(sb, ['rm', '-rf', 'gone']).done;
    assert.equal(code, 0, out);
    assert.ok(Date.now() - t0 >= 2000, 'waited for the 2 s delay');
    assert.equal(existsSync(join(sb.ws, 'gone')), false);
    const dels = runLog(sb).events.filter((e) => e.op === 'delete' && e.decision === 'allow');
    assert.ok(dels.length >= 6 && dels.every((e) => e.pre !== null));
  });

  test('rm -rf of 10,000 files trips the bulk gate: one ask for the burst; approved, everything goes', async () => {
    files(join(sb.ws, 'big'), 10_000);
    const run = startRun(sb, ['rm', '-rf', 'big']);
    const delay = await waitForHold(sb, (x) => x.decision === 'delay' && x.op === 'delete').catch(() => null);
    if (delay) warden(sb, ['approve', delay.id]);
    const h = await waitForHold(sb, (x) => x.reason === 'bulk');
    assert.equal(h.decision, 'ask');
    assert.equal(h.burst?.root, join(sb.ws, 'big'));
    assert.ok((h.preview?.files ?? 0) > 9000, `preview counts the files: ${JSON.stringify(h.preview)}`);
    assert.equal(warden(sb, ['approve', h.id]).status, 0);
    const { code, out } = await run.done;
    assert.equal(code, 0, out);
    assert.equal(existsSync(join(sb.ws, 'big')), false);
    const again = warden(sb, ['pending', '--json']);
    assert.deepEqual(JSON.parse(again.stdout), [], 'one ask for the whole burst');
  });

  test('the bulk gate denied: the rest of the burst stays and the agent keeps running', async () => {
    files(join(sb.ws, 'big2'), 500);
    const run = startRun(sb, ['sh', '-c', 'rm -rf big2; echo after > after.txt']);
    const delay = await waitForHold(sb, (x) => x.decision === 'delay' && x.op === 'delete').catch(() => null);
    if (delay) warden(sb, ['approve', delay.id]);
    const h = await waitForHold(sb, (x) => x.reason === 'bulk');
    assert.equal(warden(sb, ['deny', h.id]).status, 0);
    const { out } = await run.done;
    assert.ok(readdirSync(join(sb.ws, 'big2')).length >= 400, `most files stay: ${out}`);
    assert.equal(readFileSync(join(sb.ws, 'after.txt'), 'utf8'), 'after\n', 'the agent kept running');
  });

  test('files the run created itself never wait', async () => {
    const t0 = Date.now();
    const { code, out } = await startRun(sb, [
      'sh',
      '-c',
      'mkdir -p build && for i in $(seq 1 200); do : > build/$i.o; done && rm -rf build',
    ]).done;
    assert.equal(code, 0, out);
    assert.ok(Date.now() - t0 < 10_000);
    assert.equal(
      runLog(sb).events.filter((e) => e.hold !== undefined && e.hold !== null).length,
      0,
      'no hold',
    );
  });

  test('git reset --hard over a dirty tree is held with the dirty files listed; denied, nothing changes', async () => {
    const repo = join(sb.ws, 'repo');
    gitRepo(repo, sb.env);
    const before = readFileSync(join(repo, 'src', 'file 0.bin'));
    const run = startRun(sb, ['git', 'reset', '--hard'], [], repo);
    const h = await waitForHold(sb, (x) => x.op === 'exec' && x.argv.includes('reset'));
    assert.equal(h.preview?.kind, 'command');
    assert.ok(
      h.preview?.lines?.some((l) => l.includes('src/file 0.bin')),
      JSON.stringify(h.preview),
    );
    assert.equal(warden(sb, ['deny', h.id]).status, 0);
    const { code } = await run.done;
    assert.notEqual(code, 0);
    assert.deepEqual(readFileSync(join(repo, 'src', 'file 0.bin')), before);
  });

  test('an identical command repeated by the agent is interrupted with an ask; a script loop is not', async () => {
    // `sh` is the agent here: its direct children are its "tool calls". The 5th identical one asks.
    const run = startRun(sb, [
      'sh',
      '-c',
      'for i in 1 2 3 4 5 6; do /bin/echo same; done; echo done > loop.txt',
    ]);
    const h = await waitForHold(sb, (x) => x.reason === 'repeat');
    assert.deepEqual(h.argv.slice(-1), ['same']);
    assert.equal(warden(sb, ['deny', h.id]).status, 0);
    const { code, out } = await run.done;
    assert.equal(code, 0, out);
    assert.equal(
      readFileSync(join(sb.ws, 'loop.txt'), 'utf8'),
      'done\n',
      'the agent went on after the denied call',
    );
    // A loop inside a script the agent runs (grandchildren of the agent) never asks.
    const inner = await startRun(sb, [
      'sh',
      '-c',
      'sh -c "for i in 1 2 3 4 5 6 7 8; do /bin/echo same; done"',
    ]).done;
    assert.equal(inner.code, 0, inner.out);
    assert.equal((inner.out.match(/same/g) ?? []).length, 8);
  });

  test('steer: a delete becomes a move into the trash, and the rollback brings the file back', async () => {
    mkdirSync(join(sb.ws, 'st'), { recursive: true });
    writeFileSync(join(sb.ws, 'st', 'a.txt'), 'keep me\n');
    const policy = join(sb.root, '20-steer.yaml');
    writeFileSync(
      policy,
      'rules:\n  - id: steer-st\n    why: test\n    match: { op: [delete], path: ["${workspace}/st/**"] }\n    decision: steer\n',
    );
    const { code, out } = await startRun(sb, ['rm', 'st/a.txt'], ['--policy', policy]).done;
    assert.equal(code, 0, out);
    assert.equal(existsSync(join(sb.ws, 'st', 'a.txt')), false, 'the agent sees its delete succeed');
    const ev = runLog(sb).events.find((e) => e.op === 'delete');
    assert.equal(ev?.decision, 'steer');
    assert.match(out, /0 denied/, 'a steered delete is not counted as denied');
    const rb = warden(sb, ['rollback', '--run', 'last', '--yes']);
    assert.equal(rb.status, 0, rb.stderr);
    assert.equal(readFileSync(join(sb.ws, 'st', 'a.txt'), 'utf8'), 'keep me\n');
  });

  test('an agent cannot approve its own hold', async () => {
    files(join(sb.ws, 'self'), 3);
    // A person must answer deletes under self/ (an ask that waits 60 s, then denies).
    const policy = join(sb.root, '20-ask-self.yaml');
    writeFileSync(
      policy,
      [
        'rules:',
        '  - id: ask-self',
        '    why: test rule',
        '    match: { op: [delete], path: ["${workspace}/self/**"] }',
        '    decision: ask',
        '    timeout: 60s',
        '    fallback: deny',
        '',
      ].join('\n'),
    );
    // The agent then tries the API through the CLI (WARDEN_STATE points at the real state dir): listing
    // holds and approving must both fail, since the socket and the state dir are out of its reach.
    const w = `${process.execPath} ${wardenBin}`;
    const script =
      `rm -rf self & sleep 1; ${w} pending --json; echo "pending exit $?" > approve.txt; ` +
      `for r in 1 2 3 4 5 6 7 8 9 10; do ${w} approve $r-1; done; echo "approve exit $?" >> approve.txt; ` +
      'touch agent-done; wait';
    const run = startRun(sb, ['sh', '-c', script], ['--policy', policy]);
    const h = await waitForHold(sb, (x) => x.rule === 'ask-self');
    for (let i = 0; i < 300 && !existsSync(join(sb.ws, 'agent-done')); i++) await sleep(100);
    assert.ok(existsSync(join(sb.ws, 'agent-done')), 'the agent finished its attempts');
    const still = JSON.parse(warden(sb, ['pending', '--json']).stdout) as PendingHold[];
    assert.ok(
      still.some((x) => x.id === h.id),
      'the hold is still waiting for a person',
    );
    assert.equal(warden(sb, ['deny', h.id]).status, 0);
    const { out } = await run.done;
    const said = readFileSync(join(sb.ws, 'approve.txt'), 'utf8');
    assert.match(said, /pending exit [1-9]/, out);
    assert.match(said, /approve exit [1-9]/, out);
    assert.equal(readdirSync(join(sb.ws, 'self')).length, 3, 'nothing was deleted');
  });
});
