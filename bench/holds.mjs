#!/usr/bin/env node
// `npm run bench:holds`: the hold path end to end. An agent (python) creates N files one after another under a
// policy that asks a person for each; a subscriber on the daemon's WebSocket API (what the desktop app uses)
// answers every hold the moment it sees it. The agent puts the CLOCK_REALTIME nanoseconds taken just before
// each syscall into the file name, so the subscriber measures trapped-syscall → hold-visible-on-the-API.
// Prints median and p99 of that latency and holds decided per second.
//
// Usage: node bench/holds.mjs [--holds N]
import { spawn, spawnSync } from 'node:child_process';
import { mkdirSync, readFileSync, rmSync, writeFileSync, existsSync, realpathSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import WebSocket from 'ws';
import { python } from './common.mjs';

const repo = fileURLToPath(new URL('..', import.meta.url));
const warden = join(repo, 'bin', 'warden.js');
const args = process.argv.slice(2);
const n = Number(args[args.indexOf('--holds') + 1] || 1000) || 1000;
const root = join(repo, '.scratch', `bench-holds-${process.pid}`);
const ws = join(root, 'ws');
const state = join(root, 'state');
mkdirSync(join(ws, 'h'), { recursive: true });
const env = {
  ...process.env,
  WARDEN_STATE: state,
  WARDEN_NO_PROMPT: '1',
  HOME: realpathSync(process.env.HOME || '/root'),
};
const policy = join(root, '20-ask-each.yaml');
writeFileSync(
  policy,
  'rules:\n  - id: bench-ask-each\n    why: every create under h/ asks\n    match: { op: [create], path: ["${workspace}/h/*"] }\n    decision: ask\n    timeout: 30s\n    fallback: deny\n',
);

// start the daemon and find its API
spawnSync(process.execPath, [warden, 'status'], { env });
spawnSync(process.execPath, [warden, 'runs'], { env });
for (let i = 0; i < 100 && !existsSync(join(state, 'api.json')); i++)
  await new Promise((r) => setTimeout(r, 50));
const api = JSON.parse(readFileSync(join(state, 'api.json'), 'utf8'));
const sock = new WebSocket(`ws://127.0.0.1:${api.port}/api/events`, [`warden.${api.token}`]);
await new Promise((r, j) => (sock.once('open', r), sock.once('error', j)));

const latencies = [];
let first = 0;
let last = 0;
sock.on('message', async (data) => {
  // wall clock with sub-millisecond resolution, comparable to the agent's time.time_ns()
  const wallMs = performance.timeOrigin + performance.now();
  const msg = JSON.parse(String(data));
  if (msg.type !== 'hold.new') return;
  const sentMs = Number(BigInt(msg.hold.path.split('/').pop()) / 1000n) / 1000;
  latencies.push(wallMs - sentMs);
  if (!first) first = performance.now();
  last = performance.now();
  await fetch(`http://127.0.0.1:${api.port}/api/holds.decide`, {
    method: 'POST',
    headers: { 'content-type': 'application/json', authorization: `Bearer ${api.token}` },
    body: JSON.stringify({ id: msg.hold.id, decision: 'allow' }),
  });
});

const code = `import time\nfor i in range(${n}):\n    open('h/%d' % time.time_ns(), 'w').close()\n`;
const t0 = performance.now();
const child = spawn(
  process.execPath,
  [warden, 'run', '-q', '--workspace', ws, '--policy', policy, '--', python, '-c', code],
  {
    cwd: ws,
    env,
    stdio: 'inherit',
  },
);
const status = await new Promise((r) => child.on('exit', r));
const total = performance.now() - t0;
sock.close();
const sorted = [...latencies].sort((a, b) => a - b);
const pct = (p) => sorted[Math.min(sorted.length - 1, Math.floor((p / 100) * sorted.length))];
console.log(
  `holds: ${latencies.length} of ${n} seen (agent exit ${status}) in ${(total / 1000).toFixed(1)} s`,
);
console.log(
  `trapped syscall → hold visible on the API (WebSocket): median ${pct(50).toFixed(2)} ms, p99 ${pct(99).toFixed(2)} ms`,
);
console.log(
  `holds decided per second (one at a time, round trip through HTTP): ${(latencies.length / ((last - first) / 1000)).toFixed(0)}`,
);
spawnSync(process.execPath, [warden, 'daemon', '--stop'], { env });
rmSync(root, { recursive: true, force: true });
