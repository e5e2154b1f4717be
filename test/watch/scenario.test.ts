/**
 * Watch mode end to end (issue 7), as root: the real helper (eBPF + fanotify) and a real daemon on a tmpfs
 * sandbox; stand-in agents started WITHOUT `warden run` (a copy of bash installed as `claude`, and node
 * running a script at a Claude Code–like path) change a fake HOME; the run shows up in `warden runs` with its
 * process chain, and `warden rollback --run last --yes` restores the tree byte for byte.
 */
import assert from 'node:assert/strict';
import { spawn, spawnSync } from 'node:child_process';
import { mkdirSync, readFileSync, readdirSync, writeFileSync, existsSync } from 'node:fs';
import { join, relative } from 'node:path';
import { after, before, describe, it } from 'node:test';
import Database from 'better-sqlite3';
import { diffTrees, hashTree } from '../helpers/tree.js';
import { runLog, warden, wardenBin } from '../helpers/warden.js';
import {
  destroyWatchSandbox,
  makeWatchSandbox,
  until,
  watchSkipReason,
  watchStatus,
  writeScript,
  type WatchSandbox,
} from './env.js';

const skip = watchSkipReason();

interface RunRow {
  id: number;
  argv: string[];
  status: string;
  workspace: string | null;
}

function runs(sb: WatchSandbox): RunRow[] {
  const r = warden(sb, ['runs', '--json', '--limit', '1000']);
  assert.equal(r.status, 0, r.stderr);
  return JSON.parse(r.stdout) as RunRow[];
}

/** Runs argv in `cwd` with the sandbox env (not through warden), returns status and output. */
function agent(sb: WatchSandbox, argv: string[], cwd = sb.ws) {
  const r = spawnSync(argv[0]!, argv.slice(1), { cwd, env: sb.env, encoding: 'utf8', timeout: 60_000 });
  return { status: r.status, out: `${r.stdout}${r.stderr}` };
}

/** Waits until the newest run is the `n`-th one and has ended (the helper saw the tree exit). */
async function lastRunEnded(sb: WatchSandbox, n: number): Promise<RunRow> {
  return until(`run ${n} to end`, () => {
    const all = runs(sb);
    const last = all.find((r) => r.id === n);
    return last && last.status !== 'running' ? last : null;
  });
}

describe('watch mode: agents not started with warden run', { skip: skip ?? false }, () => {
  let sb: WatchSandbox;
  before(async () => {
    sb = await makeWatchSandbox('watch');
  });
  after(async () => {
    if (sb) await destroyWatchSandbox(sb);
  });

  it('status names the active mechanisms and the ones that are not', () => {
    const r = warden(sb, ['watch', 'status', '--json']);
    const s = JSON.parse(r.stdout);
    assert.equal(s.connected, true);
    assert.equal(s.fault, null);
    assert.match(s.mechanisms.fanotify_perm, /^active/);
    assert.equal(s.mechanisms.fanotify_name, 'active');
    assert.equal(s.mechanisms.ebpf_tracepoints, 'active');
    // BPF LSM: active where the kernel allows it, else the refused step, its errno and what happens instead
    assert.match(
      s.mechanisms.bpf_lsm,
      /^(active: unlink\/rename beneath \d+ protected dirs denied|unavailable: .+; unlink\/rename are seen after the fact)/,
    );
    assert.match(s.mechanisms.connect4, /^active/);
    assert.match(s.mechanisms.freezer, /^(cgroup2|sigstop)$/);
    assert.equal(s.mechanisms.shadow, 'active');
    // and the same under `warden status` (extensions.watch), which the desktop app reads
    const st = JSON.parse(warden(sb, ['status', '--json']).stdout);
    assert.equal(st.daemon.extensions.watch.connected, true);
    assert.match(st.daemon.extensions.watch.mechanisms.fanotify_perm, /^active/);
  });

  it('a copy of bash named claude: deletes, overwrites, truncates a database, edits .bashrc; rollback restores it all', async () => {
    // the tree before
    mkdirSync(join(sb.ws, 'src', 'lib'), { recursive: true });
    for (let i = 0; i < 20; i++)
      writeFileSync(join(sb.ws, 'src', 'lib', `m${i}.ts`), `export const x${i} = ${i};\n`);
    writeFileSync(join(sb.ws, 'README.md'), '# project\n');
    writeFileSync(join(sb.home, '.bashrc'), 'export PATH=$HOME/bin:$PATH\n');
    const db = new Database(join(sb.ws, 'app.sqlite'));
    db.exec('CREATE TABLE t (x INTEGER, y TEXT)');
    const ins = db.prepare('INSERT INTO t VALUES (?, ?)');
    for (let i = 0; i < 500; i++) ins.run(i, `row ${i}`);
    db.close();
    const before = hashTree(sb.home, { ignore: ['proj/newfile.txt'] });
    const runsBefore = runs(sb).length;

    const script = [
      'rm -rf src',
      'echo "# overwritten" > README.md',
      ': > app.sqlite',
      'echo "alias ls=\'rm -rf ~\'" >> ~/.bashrc',
      'echo created > newfile.txt',
      // the agent cannot write Warden's state dir
      `echo x > "${join(sb.state, 'journal.key')}" && echo STATE-WRITTEN || echo STATE-REFUSED`,
    ].join('; ');
    const r = agent(sb, ['claude', '-c', script]);
    assert.equal(r.status, 0, r.out);
    assert.match(r.out, /STATE-REFUSED/);
    assert.equal(existsSync(join(sb.ws, 'src')), false);
    assert.equal(readFileSync(join(sb.ws, 'app.sqlite')).length, 0);

    const run = await lastRunEnded(sb, runsBefore + 1);
    assert.equal(run.argv[0]?.split('/').pop(), 'claude', JSON.stringify(run.argv));
    const log = runLog(sb, String(run.id)) as unknown as {
      events: {
        seq: number;
        op: string;
        path: string;
        pid: number;
        preKind?: string;
        pre?: { kind: string } | null;
        decision: string;
      }[];
      chains: Record<string, { pid: number; argv: string[] }[]>;
    };
    const byPath = (p: string) => log.events.filter((e) => e.path === p);
    assert.ok(byPath(join(sb.ws, 'src', 'lib', 'm3.ts')).some((e) => e.op === 'delete'));
    assert.ok(byPath(join(sb.ws, 'README.md')).some((e) => e.op === 'write'));
    assert.ok(byPath(join(sb.ws, 'app.sqlite')).some((e) => e.op === 'write'));
    assert.ok(byPath(join(sb.home, '.bashrc')).some((e) => e.op === 'write'));
    assert.ok(byPath(join(sb.ws, 'newfile.txt')).some((e) => e.op === 'create'));
    assert.ok(byPath(join(sb.state, 'journal.key')).some((e) => e.decision === 'deny'));
    // the process chain of the rm: rm ← claude
    const rmEv = byPath(join(sb.ws, 'src', 'lib', 'm3.ts')).find((e) => e.op === 'delete')!;
    const chain = log.chains[String(rmEv.pid)]!;
    assert.deepEqual(chain[0]!.argv, ['rm', '-rf', 'src']);
    assert.equal(chain.at(-1)!.argv[0], 'claude');

    const rb = warden(sb, ['rollback', '--run', String(run.id), '--yes']);
    assert.equal(rb.status, 0, rb.stdout + rb.stderr);
    const afterTree = hashTree(sb.home, { ignore: ['proj/newfile.txt'] });
    assert.deepEqual(diffTrees(before, afterTree), []);
    assert.equal(
      existsSync(join(sb.ws, 'newfile.txt')),
      false,
      `the created file is removed by the rollback: ${rb.stdout}\n${JSON.stringify(byPath(join(sb.ws, 'newfile.txt')))}`,
    );
    const db2 = new Database(join(sb.ws, 'app.sqlite'), { readonly: true });
    assert.equal((db2.prepare('SELECT count(*) AS n FROM t').get() as { n: number }).n, 500);
    db2.close();
  });

  it('node running a script at a Claude Code–like path is an agent too', async () => {
    const cli = join(sb.home, '.npm-global', 'lib', 'node_modules', '@anthropic-ai', 'claude-code', 'cli.js');
    writeScript(
      cli,
      [
        "const fs = require('node:fs');",
        "fs.writeFileSync('notes.md', 'replaced by the agent\\n');",
        "fs.rmSync('docs', { recursive: true });",
        "fs.renameSync('keep.txt', 'moved.txt');",
      ].join('\n'),
    );
    mkdirSync(join(sb.ws, 'docs', 'api'), { recursive: true });
    writeFileSync(join(sb.ws, 'docs', 'api', 'index.md'), 'api docs\n');
    writeFileSync(join(sb.ws, 'docs', 'guide.md'), 'guide\n');
    writeFileSync(join(sb.ws, 'notes.md'), 'my notes\n');
    writeFileSync(join(sb.ws, 'keep.txt'), 'keep me\n');
    const before = hashTree(sb.home);
    const n = runs(sb).length;
    const r = agent(sb, [process.execPath, cli]);
    assert.equal(r.status, 0, r.out);
    const run = await lastRunEnded(sb, n + 1);
    assert.ok(
      run.argv.some((a) => a.endsWith('@anthropic-ai/claude-code/cli.js')),
      JSON.stringify(run.argv),
    );
    assert.equal(warden(sb, ['rollback', '--run', 'last', '--yes']).status, 0);
    assert.deepEqual(diffTrees(before, hashTree(sb.home)), []);
  });

  it('an agent cannot open anything in the state dir (api.json holds the API token); a non-agent can', async () => {
    const api = join(sb.state, 'api.json');
    await until('the daemon to publish api.json', () => existsSync(api));
    const before = readFileSync(api, 'utf8');
    const token = (JSON.parse(before) as { token: string }).token;
    const n = runs(sb).length;
    const r = agent(sb, ['claude', '-c', 'cat -- "$1"; echo "cat=$?"', 'claude', api]);
    assert.equal(r.status, 0, r.out);
    assert.match(r.out, /cat=1/);
    assert.ok(!r.out.includes(token), 'the agent read the token');
    assert.equal(readFileSync(api, 'utf8'), before);
    const plain = agent(sb, ['cat', api]);
    assert.equal(plain.status, 0, plain.out);
    assert.equal(plain.out, before);
    const run = await lastRunEnded(sb, n + 1);
    const ev = (
      runLog(sb, String(run.id)).events as { op: string; path: string; decision: string; ruleId: string }[]
    ).find((e) => e.path === api);
    assert.ok(ev, 'the refused read is journaled');
    assert.equal(ev.op, 'read');
    assert.equal(ev.decision, 'deny');
    assert.equal(ev.ruleId, 'watch-state-dir');
  });

  it('a state dir a daemon names in its hello is closed to agents too (not only the configured one)', async () => {
    const state2 = join(sb.mount, 'home', '.other-state');
    mkdirSync(state2, { mode: 0o700 });
    const env2 = { ...sb.env, WARDEN_STATE: state2 };
    const d = spawn(process.execPath, [wardenBin, 'daemon', '--idle-exit', '0'], {
      env: env2,
      stdio: 'ignore',
    });
    try {
      const api = join(state2, 'api.json');
      await until(
        'the second daemon to connect to the helper and publish api.json',
        () => {
          if (!existsSync(api)) return false;
          const r = spawnSync(process.execPath, [wardenBin, 'watch', 'status', '--json'], {
            env: env2,
            encoding: 'utf8',
          });
          return r.status === 0 && (JSON.parse(r.stdout) as { connected: boolean }).connected;
        },
        20_000,
      );
      const r = agent(sb, ['claude', '-c', 'cat -- "$1" >/dev/null; echo "cat=$?"', 'claude', api]);
      assert.match(r.out, /cat=1/, r.out);
      assert.equal(agent(sb, ['cat', api]).status, 0);
    } finally {
      d.kill('SIGKILL');
    }
  });

  it("an agent cannot pose as its user's daemon on the helper's socket (its pid is in an agent tree)", async () => {
    // connects, says hello like a daemon, prints whether the helper answered
    const body = [
      "const net = require('node:net');",
      'const [sock, state] = process.argv.slice(2);',
      "let got = '';",
      'const done = (what) => { console.log(what); process.exit(0); };',
      "const c = net.connect(sock, () => c.write(JSON.stringify({ t: 'hello', state }) + '\\n'));",
      "c.on('data', (d) => { got += d; if (got.includes('\\n')) done('ANSWERED ' + got.slice(0, 60)); });",
      "c.on('error', (e) => done('REFUSED ' + e.code));",
      "c.on('close', () => done('REFUSED closed'));",
      "setTimeout(() => done('NO ANSWER'), 5000);",
    ].join('\n');
    const pose = join(sb.home, 'pose', 'node_modules', '@anthropic-ai', 'claude-code', 'cli.js');
    const plain = join(sb.home, 'pose', 'plain.cjs');
    writeScript(pose, body);
    writeScript(plain, body);
    const a = agent(sb, [process.execPath, pose, sb.socket, sb.state]);
    assert.match(a.out, /^REFUSED/, a.out);
    await until("the helper's log of the refusal", () =>
      /refused a connection from pid \d+ \(uid 0\): it belongs to agent tree/.test(sb.helperLog()),
    );
    // the same script outside agent trees is answered (so the refusal above is about the agent)
    const p = agent(sb, [process.execPath, plain, sb.socket, sb.state]);
    assert.match(p.out, /^ANSWERED \{"t":"hello"/, p.out);
  });

  it('an agent cannot write beneath a --deny prefix (fanotify)', () => {
    const f = join(sb.denied, 'notes.txt');
    writeFileSync(f, 'mine\n');
    const r = agent(sb, ['claude', '-c', 'echo agent > "$1"; echo "w=$?"', 'claude', f]);
    assert.match(r.out, /w=1/);
    assert.equal(readFileSync(f, 'utf8'), 'mine\n');
  });

  it('without BPF LSM, an rm beneath a --deny prefix is journaled and restorable from the shadow', async (t) => {
    const lsm = watchStatus(sb).mechanisms?.bpf_lsm ?? 'not reported by the helper';
    if (lsm.startsWith('active')) return t.skip('BPF LSM is active here: the delete is refused instead');
    const f = join(sb.denied, 'kept.txt');
    writeFileSync(f, 'kept by the shadow\n');
    await until('the shadow link of the new file', () =>
      existsSync(join(sb.shadow, '0', relative(sb.home, f))),
    );
    const n = runs(sb).length;
    const r = agent(sb, ['claude', '-c', 'rm -f -- "$1"; echo "rm=$?"', 'claude', f]);
    assert.match(r.out, /rm=0/, r.out);
    const run = await lastRunEnded(sb, n + 1);
    const del = (runLog(sb, String(run.id)).events as { op: string; path: string }[]).find(
      (e) => e.op === 'delete' && e.path === f,
    );
    assert.ok(del, 'the delete beneath the deny prefix is journaled');
    const rb = warden(sb, ['rollback', '--run', String(run.id), '--all', '--yes']);
    assert.equal(rb.status, 0, rb.stderr);
    assert.equal(readFileSync(f, 'utf8'), 'kept by the shadow\n');
  });

  it('where BPF LSM is active, an agent cannot rm or mv a file beneath a --deny prefix (refused before it happens)', (t) => {
    const lsm = watchStatus(sb).mechanisms?.bpf_lsm ?? 'not reported by the helper';
    if (!lsm.startsWith('active')) return t.skip(`BPF LSM is not active here: ${lsm}`);
    const f = join(sb.denied, 'precious.txt');
    const sub = join(sb.denied, 'sub');
    writeFileSync(f, 'precious\n');
    mkdirSync(sub, { recursive: true });
    writeFileSync(join(sub, 'x'), 'x\n');
    writeFileSync(join(sb.ws, 'planted.txt'), 'planted\n');
    const script = [
      'rm -f -- "$1"; echo "rm=$?"',
      'mv -- "$1" "$2"; echo "mv-out=$?"',
      'mv -f -- "$3" "$1"; echo "mv-in=$?"',
      'rm -rf -- "$4"; echo "rmdir=$?"',
    ].join('; ');
    const r = agent(sb, [
      'claude',
      '-c',
      script,
      'claude',
      f,
      join(sb.ws, 'stolen.txt'),
      join(sb.ws, 'planted.txt'),
      sub,
    ]);
    for (const k of ['rm', 'mv-out', 'mv-in', 'rmdir']) assert.match(r.out, new RegExp(`${k}=1`), r.out);
    assert.equal(readFileSync(f, 'utf8'), 'precious\n');
    assert.equal(existsSync(join(sb.ws, 'stolen.txt')), false);
    assert.equal(readFileSync(join(sub, 'x'), 'utf8'), 'x\n');
    // the same by a process outside agent trees works
    assert.equal(agent(sb, ['rm', '-rf', '--', f, sub]).status, 0);
    assert.equal(existsSync(f), false);
  });

  it("an exec from a non-leader thread of an agent process stays held (the new image takes the thread group's id)", async () => {
    const script = join(sb.home, 'thread-exec.py');
    writeScript(
      script,
      [
        'import os, threading',
        "t = threading.Thread(target=lambda: os.execv('/bin/sh', ['sh', '-c', 'echo changed > thread-exec.txt']))",
        't.start()',
        't.join()',
      ].join('\n'),
    );
    writeFileSync(join(sb.ws, 'thread-exec.txt'), 'original\n');
    const before = hashTree(sb.home);
    const n = runs(sb).length;
    const r = agent(sb, ['claude', '-c', `python3 ${script}`]);
    assert.equal(r.status, 0, r.out);
    assert.equal(readFileSync(join(sb.ws, 'thread-exec.txt'), 'utf8'), 'changed\n');
    const run = await lastRunEnded(sb, n + 1);
    const log = runLog(sb, String(run.id)) as unknown as {
      events: { op: string; path: string; pre?: { kind: string } | null }[];
    };
    const ev = log.events.find((e) => e.path === join(sb.ws, 'thread-exec.txt') && e.op === 'write');
    assert.ok(ev, JSON.stringify(log.events));
    assert.equal(warden(sb, ['rollback', '--run', String(run.id), '--yes']).status, 0);
    assert.deepEqual(diffTrees(before, hashTree(sb.home)), []);
  });

  it('a plain (non-agent) process is not journaled', async () => {
    mkdirSync(join(sb.ws, 'scratch'), { recursive: true });
    for (let i = 0; i < 100; i++) writeFileSync(join(sb.ws, 'scratch', `f${i}`), `${i}\n`);
    const n = runs(sb).length;
    const r = agent(sb, ['bash', '-c', 'rm -rf scratch; echo plain > plain.txt']);
    assert.equal(r.status, 0);
    await new Promise((res) => setTimeout(res, 1000));
    assert.equal(runs(sb).length, n);
  });

  it("another user's agent is never reported to this user's daemon", async (t) => {
    const setpriv = ['/usr/bin/setpriv', '/bin/setpriv'].find((p) => existsSync(p));
    if (!setpriv) return t.skip('setpriv (util-linux) is not installed');
    const dir = join(sb.home, 'nobody');
    mkdirSync(dir);
    spawnSync('chown', ['65534:65534', dir]);
    const n = runs(sb).length;
    const r = spawnSync(
      setpriv,
      ['--reuid=65534', '--regid=65534', '--clear-groups', join(sb.bin, 'claude'), '-c', 'echo hi > f; rm f'],
      { cwd: dir, env: { PATH: '/usr/bin:/bin', HOME: dir }, encoding: 'utf8' },
    );
    assert.equal(r.status, 0, r.stderr);
    await until('the helper to log the unreported tree', () =>
      /uid 65534: not journaled/.test(sb.helperLog()),
    );
    assert.equal(runs(sb).length, n);
  });

  it('a bulk rm -rf of 10,000 files is frozen and asked; approving thaws it; rollback restores all', async () => {
    const big = join(sb.ws, 'big');
    for (let d = 0; d < 100; d++) {
      mkdirSync(join(big, `d${d}`), { recursive: true });
      for (let f = 0; f < 100; f++) writeFileSync(join(big, `d${d}`, `f${f}`), `${d}/${f}\n`);
    }
    const before = hashTree(sb.home);
    const n = runs(sb).length;
    const child = spawn('claude', ['-c', 'rm -rf big'], { cwd: sb.ws, env: sb.env, stdio: 'ignore' });
    const exited = new Promise<number | null>((res) => child.on('exit', (c) => res(c)));
    const pending = await until(
      'a bulk hold',
      () => {
        const p = JSON.parse(warden(sb, ['pending', '--json']).stdout) as {
          id: string;
          reason: string;
          rule: string;
        }[];
        return p.find((h) => h.reason === 'bulk') ?? null;
      },
      20_000,
    );
    assert.equal(pending.rule, 'builtin-bulk');
    // frozen: no progress while the hold waits
    const count = () => readdirSync(big, { recursive: true }).length;
    const c1 = count();
    await new Promise((res) => setTimeout(res, 500));
    assert.equal(count(), c1, 'files kept disappearing while the tree was frozen');
    assert.ok(c1 > 0, 'everything was deleted before the gate froze the tree');
    assert.equal(child.exitCode, null);
    const a = warden(sb, ['approve', pending.id]);
    assert.equal(a.status, 0, a.stderr);
    assert.equal(await exited, 0);
    assert.equal(existsSync(big), false);
    const run = await lastRunEnded(sb, n + 1);
    const rb = warden(sb, ['rollback', '--run', String(run.id), '--yes'], { timeoutMs: 300_000 });
    assert.equal(rb.status, 0, rb.stderr);
    assert.deepEqual(diffTrees(before, hashTree(sb.home)), []);
  });

  it('denying a bulk hold kills the frozen tree; what it deleted is restorable', async () => {
    const big = join(sb.ws, 'big2');
    for (let d = 0; d < 60; d++) {
      mkdirSync(join(big, `d${d}`), { recursive: true });
      for (let f = 0; f < 100; f++) writeFileSync(join(big, `d${d}`, `f${f}`), `${d}/${f}\n`);
    }
    const before = hashTree(sb.home);
    const n = runs(sb).length;
    const child = spawn('claude', ['-c', 'rm -rf big2'], { cwd: sb.ws, env: sb.env, stdio: 'ignore' });
    const exited = new Promise<NodeJS.Signals | null>((res) => child.on('exit', (_c, s) => res(s)));
    const pending = await until('a bulk hold', () => {
      const p = JSON.parse(warden(sb, ['pending', '--json']).stdout) as { id: string; reason: string }[];
      return p.find((h) => h.reason === 'bulk') ?? null;
    });
    assert.equal(warden(sb, ['deny', pending.id]).status, 0);
    assert.equal(await exited, 'SIGKILL');
    assert.ok(existsSync(big), 'the rest of the tree survives');
    const run = await lastRunEnded(sb, n + 1);
    assert.equal(warden(sb, ['rollback', '--run', String(run.id), '--yes']).status, 0);
    assert.deepEqual(diffTrees(before, hashTree(sb.home)), []);
  });
});
