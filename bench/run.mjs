#!/usr/bin/env node
// `npm run bench`: each workload runs bare, under `warden run` (CLI + daemon + supervisor: what a user runs)
// and under the supervisor alone, alternately, several times, in this one invocation; prints the medians
// and their ratios to bare. Also: rollback speed of the 10,000-file delete
// (files/s) and the daemon's peak RSS. Figures go in the README and the issue notes — never in tests.
//
// Usage: node bench/run.mjs [--reps N] [--only name,name]
import { spawnSync } from 'node:child_process';
import {
  mkdirSync,
  rmSync,
  writeFileSync,
  readFileSync,
  realpathSync,
  existsSync,
  readdirSync,
} from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { makeFiles, median, python } from './common.mjs';

const repo = fileURLToPath(new URL('..', import.meta.url));
const warden = join(repo, 'bin', 'warden.js');
const args = process.argv.slice(2);
const reps = Number(args[args.indexOf('--reps') + 1] || 5) || 5;
const only = args.includes('--only') ? args[args.indexOf('--only') + 1].split(',') : null;

const root = join(repo, '.scratch', `bench-${process.pid}`);
const ws = join(root, 'ws');
const state = join(root, 'state');
mkdirSync(ws, { recursive: true });
const env = { ...process.env, WARDEN_STATE: state, HOME: realpathSync(process.env.HOME || '/root') };

function time(argv, cwd) {
  const t0 = process.hrtime.bigint();
  const r = spawnSync(argv[0], argv.slice(1), {
    cwd,
    env,
    stdio: ['ignore', 'ignore', 'pipe'],
    encoding: 'utf8',
  });
  const ms = Number(process.hrtime.bigint() - t0) / 1e6;
  if (r.status !== 0) throw new Error(`${argv.join(' ')} exited ${r.status}: ${r.stderr}`);
  return ms;
}
const noHolds = join(repo, 'bench', 'no-holds.yaml');
const noHoldsSettings = join(repo, 'bench', 'no-holds-settings.yaml');
const guarded = (argv) => [
  process.execPath,
  warden,
  'run',
  '-q',
  '--workspace',
  ws,
  '--policy',
  noHolds,
  '--policy',
  noHoldsSettings,
  '--',
  ...argv,
];

// The supervisor alone (no CLI, no daemon): a run table compiled by the daemon for this workspace, with its
// event log pointed at a scratch file. This separates the syscall-layer cost from warden run's fixed start-up.
let tableSource = null;
let helperRuns = 0;
function supervised(argv) {
  if (!tableSource) {
    time(guarded(['true']), ws);
    const runs = readdirSync(join(state, 'runs'))
      .map(Number)
      .sort((a, b) => b - a);
    tableSource = readFileSync(join(state, 'runs', String(runs[0]), 'table'), 'utf8');
  }
  // a fresh stage dir per invocation: pre-images are named by event seq, which restarts at 1
  const stage = join(root, `helper-stage-${++helperRuns}`);
  mkdirSync(stage, { mode: 0o700 });
  const helperTable = join(root, 'helper-table');
  writeFileSync(
    helperTable,
    tableSource
      .replace(/^events\t.*$/m, `events\t${join(root, 'helper-events.ndjson')}`)
      .replace(/^stage\t.*$/m, `stage\t${stage}`),
  );
  return [join(repo, 'helper', 'linux', 'build', 'warden-supervise'), '--table', helperTable, '--', ...argv];
}
const py = (code) => [python, '-c', code];

const workloads = [
  { name: 'startup (true)', prep: () => {}, cmd: ['true'] },
  {
    name: 'read-heavy (3,000 files)',
    once: () => makeFiles(join(ws, 'read'), 3000),
    prep: () => {},
    cmd: py(
      "import os\nn=0\nfor d,_,fs in os.walk('read'):\n  for f in fs:\n    n+=len(open(os.path.join(d,f),'rb').read())\nprint(n)",
    ),
  },
  {
    name: 'git (commit 2,000 files, status, log)',
    once: () => makeFiles(join(ws, 'git'), 2000, 256),
    prep: () => rmSync(join(ws, 'git', '.git'), { recursive: true, force: true }),
    cwd: join(ws, 'git'),
    cmd: [
      'sh',
      '-c',
      'git init -q && git add -A && git -c user.name=b -c user.email=b@b commit -qm x && git status --short && git log --oneline >/dev/null',
    ],
  },
  {
    name: 'file-churn (5,000 create/rewrite, 1,000 rename, delete)',
    prep: () => rmSync(join(ws, 'churn'), { recursive: true, force: true }),
    cmd: py(
      "import os\nos.mkdir('churn')\nfor i in range(5000):\n  open('churn/f%d'%i,'w').write('x'*100)\nfor i in range(5000):\n  open('churn/f%d'%i,'w').write('y'*200)\nfor i in range(1000):\n  os.rename('churn/f%d'%i,'churn/r%d'%i)\nfor n in os.listdir('churn'):\n  os.unlink('churn/'+n)\nos.rmdir('churn')",
    ),
  },
  {
    name: 'delete-tree (rm -rf 10,000 files)',
    prep: () => makeFiles(join(ws, 'del'), 10000, 256),
    cmd: ['rm', '-rf', 'del'],
  },
];

const rows = [];
for (const w of workloads) {
  if (only && !only.some((o) => w.name.startsWith(o))) continue;
  w.once?.();
  const bare = [];
  const under = [];
  const helperOnly = [];
  for (let i = 0; i < reps; i++) {
    w.prep();
    bare.push(time(w.cmd, w.cwd ?? ws));
    w.prep();
    under.push(time(guarded(w.cmd), w.cwd ?? ws));
    w.prep();
    helperOnly.push(time(supervised(w.cmd), w.cwd ?? ws));
    rmSync(join(root, 'helper-events.ndjson'), { force: true });
    rmSync(join(root, `helper-stage-${helperRuns}`), { recursive: true, force: true });
  }
  const row = { workload: w.name, bare: median(bare), warden: median(under), helper: median(helperOnly) };
  rows.push(row);
  const f = (ms) => `${ms.toFixed(0).padStart(6)} ms`;
  const x = (ms) => `${(ms / row.bare).toFixed(2).padStart(6)}×`;
  console.log(
    `${w.name.padEnd(56)} bare ${f(row.bare)} | warden run ${f(row.warden)} ${x(row.warden)} | supervisor only ${f(row.helper)} ${x(row.helper)}`,
  );
}

if (!only || only.some((o) => 'rollback'.startsWith(o) || o === 'delete-tree')) {
  makeFiles(join(ws, 'del'), 10000, 256);
  time(guarded(['rm', '-rf', 'del']), ws);
  const ms = time([process.execPath, warden, 'rollback', '--run', 'last', '--yes', '--json'], ws);
  const ok = existsSync(join(ws, 'del', 'd0', 'f0.txt'));
  console.log(
    `rollback of the 10,000-file delete: ${ms.toFixed(0)} ms (${Math.round(10000 / (ms / 1000))} files/s, CLI start included)${ok ? '' : '  FILES NOT BACK'}`,
  );
}

const pid = Number(readFileSync(join(state, 'daemon.pid'), 'utf8'));
const hwm = readFileSync(`/proc/${pid}/status`, 'utf8').match(/VmHWM:\s+(\d+) kB/);
console.log(`daemon peak RSS: ${hwm ? (Number(hwm[1]) / 1024).toFixed(0) : '?'} MiB`);
spawnSync(process.execPath, [warden, 'daemon', '--stop'], { env });
rmSync(root, { recursive: true, force: true });
