/**
 * fanotify fails open when its listener dies, so watch mode must make a dead or stuck helper visible: the
 * daemon reports the fault within seconds (connection loss at once; a stopped helper through the heartbeat),
 * journals it on the watched runs in progress, and recovers when the helper comes back.
 */
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { after, before, describe, it } from 'node:test';
import { warden } from '../helpers/warden.js';
import {
  destroyWatchSandbox,
  makeWatchSandbox,
  startHelper,
  until,
  watchSkipReason,
  watchStatus,
  type WatchSandbox,
} from './env.js';

const skip = watchSkipReason();

describe('watch mode: a dead or stuck helper is reported', { skip: skip ?? false }, () => {
  let sb: WatchSandbox;
  before(async () => {
    sb = await makeWatchSandbox('watch-fault');
  });
  after(async () => {
    if (sb) await destroyWatchSandbox(sb);
  });

  it('the canary write is seen while the helper is healthy', async () => {
    const s = await until('a canary report', () => {
      const st = watchStatus(sb) as ReturnType<typeof watchStatus> & { canary?: { lastOk: number | null } };
      return st.canary?.lastOk ? st : null;
    });
    assert.equal(s.fault, null);
  });

  it('killing the helper mid-run is a fault within a few seconds, journaled on the run; a restart clears it', async () => {
    const agent = spawn('claude', ['-c', 'echo start > started.txt; sleep 30'], {
      cwd: sb.ws,
      env: sb.env,
      stdio: 'ignore',
    });
    try {
      const run = await until('the agent run', () => {
        const r = JSON.parse(warden(sb, ['runs', '--json']).stdout) as { id: number; status: string }[];
        return r.find((x) => x.status === 'running') ?? null;
      });
      const helperPid = watchStatus(sb).helperPid!;
      const killedAt = Date.now();
      process.kill(helperPid, 'SIGKILL');
      const st = await until('the fault', () => watchStatus(sb).fault, 10_000);
      const latency = st.ts - killedAt; // when the daemon noticed (the status CLI itself takes a while)
      assert.match(st.what, /disconnected/);
      assert.ok(latency < 5000, `fault reported after ${latency} ms`);
      process.stdout.write(`# helper killed → fault reported in ${latency} ms\n`);
      const show = JSON.parse(warden(sb, ['runs', 'show', String(run.id), '--json']).stdout) as {
        faults: { what: string }[];
      };
      assert.ok(
        show.faults.some((f) => /watch mode: .*disconnected/.test(f.what)),
        JSON.stringify(show.faults),
      );
      // restarting resumes cleanly: connected again, fault cleared, canary seen again
      await startHelper(sb);
      await until('reconnect', () => {
        const s = watchStatus(sb);
        return s.connected && s.fault === null ? s : null;
      });
    } finally {
      agent.kill('SIGKILL');
    }
  });

  it('a stopped (stuck) helper is reported through the missing heartbeat', async () => {
    const helperPid = watchStatus(sb).helperPid!;
    process.kill(helperPid, 'SIGSTOP');
    try {
      const st = await until('the heartbeat fault', () => watchStatus(sb).fault, 10_000);
      assert.match(st.what, /heartbeat|canary/);
    } finally {
      process.kill(helperPid, 'SIGCONT');
    }
    await until('recovery', () => (watchStatus(sb).fault === null ? true : null), 10_000);
  });
});
