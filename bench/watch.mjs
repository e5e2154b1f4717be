#!/usr/bin/env node
// `node bench/watch.mjs` (root): what system-wide watch mode costs. On a private tmpfs (the fanotify filesystem
// mark then covers only this benchmark's files), each workload of bench/run.mjs's kind runs
//   bare      — no helper running,
//   watched   — helper running, run by a plain process (not an agent): the overhead every process pays,
//   lazy      — helper started with --lazy (permission events armed only while an agent runs), plain process,
//   agent     — helper running, run by a stand-in agent (a copy of bash named `claude`): journaled, with
//               copy-before-write pre-images and shadow links,
// interleaved, median of --reps (default 5); ratios are against the bare run measured in the same invocation.
// Also: the helper's RSS and CPU at idle and under the agent workloads, and restore speed from the shadow
// (`warden rollback` of an agent's rm -rf). The bulk gate is off (bench/no-holds-settings.yaml).
//
// Usage: sudo node bench/watch.mjs [--reps N]
import { spawn, spawnSync } from 'node:child_process';
import { copyFileSync, existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { makeFiles, median, python } from './common.mjs';

if (process.getuid() !== 0) {
  console.error('bench/watch.mjs needs root (fanotify permission events, eBPF, a tmpfs mount)');
  process.exit(2);
}
const repo = fileURLToPath(new URL('..', import.meta.url));
const warden = join(repo, 'bin', 'warden.js');
if (!existsSync(join(repo, 'helper', 'linux', 'build', 'warden-watch'))) {
  console.error('helper/linux/build/warden-watch is not built (needs clang, bpftool, libbpf-dev)');
  process.exit(2);
}
const args = process.argv.slice(2);
const reps = Number(args[args.indexOf('--reps') + 1] || 5) || 5;
mkdirSync(join(repo, '.scratch'), { recursive: true });
const mnt = mkdtempSync(join(repo, '.scratch', 'bench-watch-'));
if (spawnSync('mount', ['-t', 'tmpfs', '-o', 'size=2g', 'tmpfs', mnt]).status !== 0) {
  console.error(`cannot mount a tmpfs on ${mnt}`);
  process.exit(1);
}
const home = join(mnt, 'home');
const ws = join(home, 'proj');
const state = join(mnt, 'state');
const bin = join(mnt, 'bin');
const socket = join(mnt, 'run', 'watch.sock');
for (const d of [ws, bin, join(mnt, 'run')]) mkdirSync(d, { recursive: true });
mkdirSync(state, { mode: 0o700 });
copyFileSync('/bin/bash', join(bin, 'claude'));
spawnSync('chmod', ['755', join(bin, 'claude')]);
const env = {
  PATH: process.env.PATH,
  HOME: home,
  WARDEN_STATE: state,
  WARDEN_WATCH_SOCKET: socket,
  LANG: 'C.UTF-8',
};
const sleep = (ms) => new Promise((r) => setTimeout(r, ms));

const q = (s) => `'${s.replace(/'/g, `'\\''`)}'`;
const workloads = [
  { name: 'startup (true)', prep: () => {}, cmd: 'true' },
  {
    name: 'read-heavy (3,000 files)',
    once: () => makeFiles(join(ws, 'read'), 3000),
    prep: () => {},
    cmd: `${python} -c ${q("import os\nn=0\nfor d,_,fs in os.walk('read'):\n  for f in fs:\n    n+=len(open(os.path.join(d,f),'rb').read())")}`,
  },
  {
    name: 'open loop (20,000 opens of one file)',
    once: () => makeFiles(join(ws, 'one'), 1),
    prep: () => {},
    cmd: `${python} -c ${q("import os\nfor i in range(20000):\n  os.close(os.open('one/d0/f0.txt',os.O_RDONLY))")}`,
    opens: 20000,
  },
  {
    name: 'git (commit 2,000 files, status, log)',
    once: () => makeFiles(join(ws, 'git'), 2000, 256),
    prep: () => rmSync(join(ws, 'git', '.git'), { recursive: true, force: true }),
    cmd: 'cd git && git init -q && git add -A && git -c user.name=b -c user.email=b@b commit -qm x && git status --short && git log --oneline >/dev/null',
  },
  {
    name: 'file-churn (5,000 create/rewrite, 1,000 rename, delete)',
    prep: () => rmSync(join(ws, 'churn'), { recursive: true, force: true }),
    cmd: `${python} -c ${q("import os\nos.mkdir('churn')\nfor i in range(5000):\n  open('churn/f%d'%i,'w').write('x'*100)\nfor i in range(5000):\n  open('churn/f%d'%i,'w').write('y'*200)\nfor i in range(1000):\n  os.rename('churn/f%d'%i,'churn/r%d'%i)\nfor n in os.listdir('churn'):\n  os.unlink('churn/'+n)\nos.rmdir('churn')")}`,
  },
  {
    name: 'delete-tree (rm -rf 10,000 files)',
    prep: () => makeFiles(join(ws, 'del'), 10000, 256),
    cmd: 'rm -rf del',
  },
];

/** Runs `cmd` with bash (or the `claude` copy of bash) in the workspace; returns wall ms. */
function timed(shell, cmd) {
  const t0 = process.hrtime.bigint();
  const r = spawnSync(shell, ['-c', cmd], { cwd: ws, env, stdio: 'ignore' });
  const ms = Number(process.hrtime.bigint() - t0) / 1e6;
  if (r.status !== 0) throw new Error(`${shell} -c ${cmd} exited ${r.status}`);
  return ms;
}

let helper = null;
let helperPid = null;
async function startHelper(extra = []) {
  rmSync(socket, { force: true });
  helper = spawn(
    process.execPath,
    [warden, 'watch', '--foreground', '--root', home, '--shadow', join(mnt, 'shadow'), '--socket', socket,
      '--policy', join(repo, 'bench', 'no-holds-settings.yaml'), ...extra], // prettier-ignore
    { env, stdio: ['ignore', 'ignore', 'pipe'] },
  );
  let log = '';
  helper.stderr.on('data', (d) => (log += d));
  for (let i = 0; i < 400 && !existsSync(socket); i++) await sleep(25);
  await sleep(200);
  const ps = spawnSync('pgrep', ['-P', String(helper.pid)], { encoding: 'utf8' })
    .stdout.trim()
    .split('\n')[0];
  helperPid = Number(ps) || null;
}
async function stopHelper() {
  if (!helper) return;
  const h = helper;
  h.kill('SIGTERM');
  await new Promise((r) => h.once('exit', r));
  helper = null;
}
function cpuMs(pid) {
  const f = readFileSync(`/proc/${pid}/stat`, 'utf8');
  const v = f.slice(f.lastIndexOf(')') + 2).split(' ');
  return ((Number(v[11]) + Number(v[12])) * 1000) / 100; // utime + stime in clock ticks (USER_HZ = 100)
}
function rssKb(pid) {
  return Number(/VmRSS:\s+(\d+)/.exec(readFileSync(`/proc/${pid}/status`, 'utf8'))?.[1] ?? 0);
}

const rows = [];
const loadavg = () => readFileSync('/proc/loadavg', 'utf8').split(' ').slice(0, 3).join(' ');
const loadAtStart = loadavg();
try {
  for (const w of workloads) w.once?.();
  const res = Object.fromEntries(
    workloads.map((w) => [w.name, { bare: [], watched: [], lazy: [], agent: [] }]),
  );
  const usage = { idleCpuPct: 0, rssIdleKb: 0, rssMaxKb: 0, agentCpuMs: 0, agentWallMs: 0 };
  for (let r = 0; r < reps; r++) {
    for (const w of workloads) {
      w.prep();
      res[w.name].bare.push(timed('bash', w.cmd));
    }
    await startHelper();
    if (r === 0 && helperPid) {
      const c0 = cpuMs(helperPid);
      await sleep(2000);
      usage.idleCpuPct = ((cpuMs(helperPid) - c0) / 2000) * 100;
      usage.rssIdleKb = rssKb(helperPid);
    }
    for (const w of workloads) {
      w.prep();
      res[w.name].watched.push(timed('bash', w.cmd));
    }
    const c0 = helperPid ? cpuMs(helperPid) : 0;
    const t0 = Date.now();
    for (const w of workloads) {
      w.prep();
      res[w.name].agent.push(timed(join(bin, 'claude'), w.cmd));
    }
    if (helperPid) {
      usage.agentCpuMs += cpuMs(helperPid) - c0;
      usage.agentWallMs += Date.now() - t0;
      usage.rssMaxKb = Math.max(usage.rssMaxKb, rssKb(helperPid));
    }
    await stopHelper();
    rmSync(join(state, 'watch'), { recursive: true, force: true }); // spooled agent runs (no daemon here)
    await startHelper(['--lazy']);
    for (const w of workloads) {
      w.prep();
      res[w.name].lazy.push(timed('bash', w.cmd));
    }
    await stopHelper();
  }
  for (const w of workloads) {
    const x = res[w.name];
    const bare = median(x.bare);
    rows.push({
      workload: w.name,
      bare: bare.toFixed(1),
      watched: median(x.watched).toFixed(1),
      lazy: median(x.lazy).toFixed(1),
      agent: median(x.agent).toFixed(1),
      'watched/bare': (median(x.watched) / bare).toFixed(3),
      'lazy/bare': (median(x.lazy) / bare).toFixed(3),
      'agent/bare': (median(x.agent) / bare).toFixed(3),
    });
  }
  console.log(`watch mode, ms (median of ${reps}); ratios against bare in this invocation`);
  console.table(rows);
  for (const w of workloads.filter((x) => x.opens)) {
    const x = res[w.name];
    const per = (v) => (((median(v) - median(x.bare)) / w.opens) * 1000).toFixed(1);
    console.log(
      `cost per open (${w.name}): +${per(x.watched)} µs non-agent watched, +${per(x.lazy)} µs non-agent --lazy, ` +
        `+${per(x.agent)} µs agent (read-only opens); bare ${((median(x.bare) / w.opens) * 1000).toFixed(1)} µs per loop step`,
    );
  }
  console.log(`load average (1, 5, 15 min) at the start: ${loadAtStart}, after the timed runs: ${loadavg()}`);
  console.log(
    `helper: idle CPU ${usage.idleCpuPct.toFixed(2)}% · RSS idle ${(usage.rssIdleKb / 1024).toFixed(1)} MiB, ` +
      `max ${(usage.rssMaxKb / 1024).toFixed(1)} MiB · CPU during the agent workloads ${((usage.agentCpuMs / Math.max(1, usage.agentWallMs)) * 100).toFixed(1)}% of one core`,
  );

  // restore speed from the shadow: an agent deletes 5,000 files, `warden rollback` brings them back
  await startHelper();
  const daemon = spawn(process.execPath, [warden, 'daemon', '--idle-exit', '0'], { env, stdio: 'ignore' });
  for (let i = 0; i < 200; i++) {
    const s = spawnSync(process.execPath, [warden, 'watch', 'status', '--json'], { env, encoding: 'utf8' });
    if (s.status === 0 && JSON.parse(s.stdout).connected) break;
    await sleep(100);
  }
  makeFiles(join(ws, 'restore'), 5000, 1024);
  await sleep(500);
  timed(join(bin, 'claude'), 'rm -rf restore');
  for (let i = 0; i < 200; i++) {
    const r = JSON.parse(
      spawnSync(process.execPath, [warden, 'runs', '--json'], { env, encoding: 'utf8' }).stdout,
    );
    if (r[0]?.status === 'ended') break;
    await sleep(100);
  }
  const t0 = process.hrtime.bigint();
  const rb = spawnSync(process.execPath, [warden, 'rollback', '--run', 'last', '--yes'], {
    env,
    encoding: 'utf8',
  });
  const ms = Number(process.hrtime.bigint() - t0) / 1e6;
  if (rb.status !== 0) throw new Error(`rollback failed: ${rb.stderr}`);
  console.log(
    `restore from the shadow: 5,000 deleted files (1 KiB) back in ${ms.toFixed(0)} ms (${((5000 / ms) * 1000).toFixed(0)} files/s, CLI + daemon)`,
  );
  daemon.kill('SIGKILL');
} finally {
  await stopHelper();
  await sleep(200);
  if (spawnSync('umount', [mnt]).status !== 0) spawnSync('umount', ['-l', mnt]);
  rmSync(mnt, { recursive: true, force: true });
}
