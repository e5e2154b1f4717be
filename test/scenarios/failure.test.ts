/**
 * Failure modes: the daemon killed mid-run (no event lost), the supervisor killed (fail-closed, nothing
 * hangs), a malformed policy (line:column, exit 2, command not started), a missing command (127), an unusable
 * state dir (clear error).
 */
import { describe, test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { writeFileSync, readFileSync, existsSync, readdirSync } from 'node:fs';
import { join } from 'node:path';
import {
  makeSandbox,
  destroySandbox,
  guarded,
  runLog,
  warden,
  wardenAsync,
  wardenBin,
  type Sandbox,
} from '../helpers/warden.js';

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

/** Starts `warden run` in the workspace asynchronously; `done` resolves when it ends (rejects after `ms`). */
function guardedAsync(sb: Sandbox, cmd: string[], ms = 60_000) {
  const done = wardenAsync(sb, ['run', '--workspace', sb.ws, '--', ...cmd], { timeoutMs: ms }).then((r) => ({
    code: r.code,
    stderr: r.output,
  }));
  return { done };
}

/** Pids of processes whose command line contains `needle`. */
function pidsMatching(needle: string): number[] {
  const out: number[] = [];
  for (const name of readdirSync('/proc')) {
    if (!/^\d+$/.test(name)) continue;
    try {
      if (readFileSync(`/proc/${name}/cmdline`, 'utf8').includes(needle)) out.push(Number(name));
    } catch {
      /* exited */
    }
  }
  return out;
}

describe('failure modes', () => {
  let sb: Sandbox;
  before(() => (sb = makeSandbox('failure')));
  after(() => destroySandbox(sb));

  test('daemon killed with SIGKILL mid-run: events are spooled and none is lost', async () => {
    assert.equal(guarded(sb, ['true']).status, 0); // the daemon is up
    const pid = Number(readFileSync(join(sb.state, 'daemon.pid'), 'utf8'));
    const run = guardedAsync(sb, [
      'sh',
      '-c',
      'for i in $(seq 1 200); do echo $i > f$i; if [ $i = 50 ]; then sleep 1; fi; done',
    ]);
    await sleep(500);
    process.kill(pid, 'SIGKILL');
    const { code, stderr } = await run.done;
    assert.equal(code, 0, stderr);
    const creates = runLog(sb).events.filter((e) => e.op === 'create' && /\/f\d+$/.test(String(e.path)));
    assert.equal(creates.length, 200, 'every create journaled despite the daemon dying');
    const seqs = runLog(sb).events.map((e) => Number(e.seq));
    assert.deepEqual(
      seqs,
      [...seqs].sort((a, b) => a - b),
    );
    assert.equal(new Set(seqs).size, seqs.length, 'no event duplicated');
  });

  test('supervisor killed: the run fails closed and nothing hangs', async () => {
    const ready = join(sb.ws, 'ready');
    const marker = join(sb.ws, 'after-kill');
    const q = (p: string) => `'${p}'`;
    const run = guardedAsync(
      sb,
      ['sh', '-c', `touch ${q(ready)}; sleep 2; echo late > ${q(marker)}; sleep 30`],
      30_000,
    );
    for (let i = 0; i < 200 && !existsSync(ready); i++) await sleep(50);
    assert.ok(existsSync(ready), 'the guarded command started');
    const helpers = pidsMatching('warden-supervise').filter((p) =>
      readFileSync(`/proc/${p}/cmdline`, 'utf8').includes(sb.state),
    );
    assert.ok(helpers.length >= 1, 'found the supervisor');
    for (const p of helpers) process.kill(p, 'SIGKILL');
    const t0 = Date.now();
    const { code, stderr } = await run.done;
    assert.ok(Date.now() - t0 < 10_000, 'warden run ended promptly');
    assert.notEqual(code, 0);
    assert.match(stderr, /fail-closed|killed/);
    await sleep(2500);
    assert.equal(existsSync(marker), false, 'no write went through after the supervisor died');
  });

  test('malformed policy: error with line:column, exit 2, the command is not started', () => {
    const bad = join(sb.root, 'bad.yaml');
    writeFileSync(
      bad,
      'rules:\n  - id: oops\n    match: { op: [delete], path: ["**"] }\n    decision: maybe\n',
    );
    const marker = join(sb.ws, 'started');
    const r = warden(sb, ['run', '--policy', bad, '--', 'touch', marker]);
    assert.equal(r.status, 2);
    assert.match(r.stderr, /bad\.yaml:4:\d+/);
    assert.equal(existsSync(marker), false);
    const check = warden(sb, ['policy', 'check', bad]);
    assert.equal(check.status, 2);
    assert.match(check.stderr, /bad\.yaml:4:\d+/);
  });

  test('a command that does not exist exits 127', () => {
    const r = guarded(sb, ['definitely-not-a-command-xyz']);
    assert.equal(r.status, 127);
    assert.match(r.stderr, /not found/);
  });

  test('an unusable state dir gives a clear error', () => {
    const file = join(sb.root, 'a-file');
    writeFileSync(file, 'x');
    const r = spawnSync(process.execPath, [wardenBin, 'run', '--state', join(file, 'state'), '--', 'true'], {
      encoding: 'utf8',
      env: sb.env,
      cwd: sb.ws,
    });
    assert.equal(r.status, 1);
    assert.match(r.stderr, /state dir .*a-file\/state is not usable.*--state/);
  });

  test('every command has --help', () => {
    for (const cmd of [
      [],
      ['run'],
      ['runs'],
      ['log'],
      ['rollback'],
      ['policy', 'check'],
      ['status'],
      ['daemon'],
    ]) {
      const r = warden(sb, [...cmd, '--help']);
      assert.equal(r.status, 0, `${cmd.join(' ')} --help`);
      assert.match(r.stdout, /Usage: warden/);
    }
  });
});
