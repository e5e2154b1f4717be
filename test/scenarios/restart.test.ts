/**
 * No lost holds across a daemon restart, with the real daemon, the real helper and a real `rm -rf`: a guarded
 * delete is held by an ask rule, the daemon is SIGKILLed, the run's own `warden run` process starts a new one
 * (nothing in this test does), the helper reconnects and re-sends its hold, the new daemon lists it with the
 * same id and deadline, serves the same HTTP port and token, and a person's answer reaches the agent.
 */
import { describe, test, before, after, afterEach } from 'node:test';
import assert from 'node:assert/strict';
import { existsSync, mkdirSync, readFileSync, statSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import type { Hold } from '../../core/api/contract.js';
import { hashTree } from '../helpers/tree.js';
import { destroySandbox, makeSandbox, runLog, warden, wardenAsync, type Sandbox } from '../helpers/warden.js';

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

const skip = existsSync(new URL('../../../helper/linux/build/warden-supervise', import.meta.url))
  ? undefined
  : 'helper/linux/build/warden-supervise is not built (make -C helper/linux)';

/** `warden pending --json` (starts a daemon if none runs: only call it while one does). */
function pending(sb: Sandbox): Hold[] {
  const r = warden(sb, ['pending', '--json']);
  if (r.status !== 0) throw new Error(`warden pending failed: ${r.stderr}`);
  return JSON.parse(r.stdout) as Hold[];
}

async function waitFor<T>(what: string, get: () => T | null | undefined, ms = 20_000): Promise<T> {
  const end = Date.now() + ms;
  while (Date.now() < end) {
    const v = get();
    if (v !== null && v !== undefined) return v;
    await sleep(50);
  }
  throw new Error(`timed out waiting for ${what}`);
}

function alive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch {
    return false;
  }
}

/** The pid in state/daemon.pid if that process is alive, else null. */
function daemonPid(sb: Sandbox): number | null {
  try {
    const pid = Number(readFileSync(join(sb.state, 'daemon.pid'), 'utf8').trim());
    return pid > 0 && alive(pid) ? pid : null;
  } catch {
    return null;
  }
}

const apiJson = (sb: Sandbox) =>
  JSON.parse(readFileSync(join(sb.state, 'api.json'), 'utf8')) as {
    port: number;
    token: string;
    pid: number;
  };

describe('scenario: a daemon restart during a held rm -rf', { skip, concurrency: 1 }, () => {
  let sb: Sandbox;
  let policy: string;
  before(() => {
    sb = makeSandbox('restart');
    policy = join(sb.root, '20-ask-restart.yaml');
    writeFileSync(
      policy,
      [
        'rules:',
        '  - id: ask-restart',
        '    why: deletes here need a person (restart scenario)',
        '    match: { op: [delete], path: ["${workspace}/held-*/**"] }',
        '    decision: ask',
        '    timeout: 120s',
        '    fallback: deny',
        '',
      ].join('\n'),
    );
  });
  // a failed test must not leave its run held for the next one
  afterEach(() => {
    if (daemonPid(sb)) for (const h of pending(sb)) warden(sb, ['deny', h.id]);
  });
  after(() => destroySandbox(sb));

  for (const decision of ['deny', 'allow'] as const) {
    test(`SIGKILL of the daemon: the hold comes back with its deadline; ${decision} reaches rm`, async () => {
      const dir = join(sb.ws, `held-${decision}`);
      mkdirSync(join(dir, 'sub'), { recursive: true });
      for (const n of ['a.txt', 'b.txt', 'sub/c.txt']) writeFileSync(join(dir, n), `${n}\n`.repeat(50));
      const before = hashTree(dir);
      const run = wardenAsync(
        sb,
        ['run', '--workspace', sb.ws, '--policy', policy, '--', 'rm', '-rf', `held-${decision}`],
        { timeoutMs: 90_000 },
      );

      const held = await waitFor('the hold', () => pending(sb).find((h) => h.rule === 'ask-restart'));
      const oldPid = daemonPid(sb)!;
      const oldApi = apiJson(sb);
      assert.ok(oldPid, 'a daemon runs');
      process.kill(oldPid, 'SIGKILL');
      await waitFor('the old daemon to die', () => (alive(oldPid) ? null : true));

      // Nothing here starts a daemon: `warden run` notices its connection closing and starts one.
      const newPid = await waitFor('a new daemon', () => {
        const p = daemonPid(sb);
        return p !== null && p !== oldPid ? p : null;
      });
      const back = await waitFor('the hold in the new daemon', () =>
        pending(sb).find((h) => h.id === held.id),
      );
      assert.equal(daemonPid(sb), newPid, 'listing holds did not start yet another daemon');
      assert.equal(back.deadline, held.deadline, 'same deadline');
      assert.equal(back.ts, held.ts);
      assert.equal(back.path, held.path);
      assert.equal(back.seq, held.seq);
      assert.equal(back.rule, 'ask-restart');

      // Same HTTP origin and token: an open UI page reconnects by itself.
      const api = await waitFor('api.json of the new daemon', () => {
        const a = apiJson(sb);
        return a.pid === newPid ? a : null;
      });
      assert.equal(api.port, oldApi.port);
      assert.equal(api.token, oldApi.token);
      assert.equal(statSync(join(sb.state, 'api.json')).mode & 0o777, 0o600);
      const res = await fetch(`http://127.0.0.1:${api.port}/api/holds.list`, {
        method: 'POST',
        headers: { authorization: `Bearer ${oldApi.token}`, 'content-type': 'application/json' },
        body: '{}',
      });
      assert.equal(res.status, 200);
      const listed = (await res.json()) as { ok: boolean; result: Hold[] };
      assert.ok(listed.result.some((h) => h.id === held.id && h.deadline === held.deadline));

      // `--for burst`: one answer covers the rest of this rm -rf (a deny does that anyway)
      const answer = warden(
        sb,
        decision === 'allow' ? ['approve', held.id, '--for', 'burst'] : ['deny', held.id],
      );
      assert.equal(answer.status, 0, answer.stderr);
      const { code, output } = await run;
      if (decision === 'deny') {
        assert.notEqual(code, 0, output);
        assert.match(output, /Operation not permitted/);
        assert.deepEqual(hashTree(dir), before, 'every file stays');
      } else {
        assert.equal(code, 0, output);
        assert.equal(existsSync(dir), false, 'rm -rf went through');
      }
      const log = runLog(sb);
      const ev = log.events.find((e) => e.holdId === held.hold && e.op === 'delete');
      assert.ok(ev, 'the held delete is journaled');
      assert.equal(ev.by, 'person');
      assert.equal(ev.decision, decision);
      assert.deepEqual(pending(sb), []);
    });
  }
});
