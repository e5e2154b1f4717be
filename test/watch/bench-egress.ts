/**
 * Benchmark (not a test; run by `npm run bench:watch-egress`, bench/watch-egress.mjs; root): what watch mode's
 * egress steering costs an agent's connections. One client (Node, raw HTTP/1.1 over new TCP connections) runs
 * against the test host of test/watch/testhost.ts (a network namespace on a veth pair) twice in one invocation:
 *   direct  — a plain process: straight to 198.18.77.2:8080;
 *   steered — the same client started by a stand-in agent (a copy of bash named `claude`): cgroup/connect4 →
 *             warden-watch's listener → relay thread → the daemon's proxy for the watched run (sniff the Host,
 *             policy, journal) → the test host.
 * Figures: connect latency (new connection + small request/response; median and p99 over N) and throughput of one
 * large download, with the ratio steered / direct. Usage: `npm run bench:watch-egress -- [connections] [MiB]`.
 */
import { spawnSync } from 'node:child_process';
import { mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { destroyWatchSandbox, makeWatchSandbox, watchSkipReason } from './env.js';
import { startTestHost, testHostSkipReason, TEST_HOST } from './testhost.js';

const CONNECTIONS = Number(process.argv[2] ?? 200);
const MIB = Number(process.argv[3] ?? 128);

// The client: N sequential connections with one small request each, then one download; prints JSON.
const CLIENT = `
const net = require('node:net');
const [host, n, bytes] = [process.argv[2], Number(process.argv[3]), Number(process.argv[4])];
const get = (path) => new Promise((res, rej) => {
  const t0 = process.hrtime.bigint();
  let got = 0, head = null;
  const s = net.connect(8080, host, () => s.write('GET ' + path + ' HTTP/1.1\\r\\nHost: allowed.test:8080\\r\\nConnection: close\\r\\n\\r\\n'));
  s.on('data', (d) => (got += d.length));
  s.on('error', rej);
  s.on('close', () => res({ ms: Number(process.hrtime.bigint() - t0) / 1e6, got }));
});
(async () => {
  const lat = [];
  for (let i = 0; i < n; i++) lat.push((await get('/small')).ms);
  const big = await get('/big?n=' + bytes);
  console.log(JSON.stringify({ lat, bigMs: big.ms, bigBytes: big.got }));
})().catch((e) => { console.log(JSON.stringify({ error: String(e) })); process.exit(1); });
`;

const POLICY = `band: 05-bench
network:
  rules:
    - id: bench-allow
      hosts: [allowed.test]
      decision: allow
`;

interface Result {
  lat: number[];
  bigMs: number;
  bigBytes: number;
}

const pct = (xs: number[], p: number) => {
  const s = [...xs].sort((a, b) => a - b);
  return s[Math.min(s.length - 1, Math.floor((p / 100) * s.length))] as number;
};

function run(argv: string[], env: NodeJS.ProcessEnv, cwd: string): Result {
  const r = spawnSync(argv[0] as string, argv.slice(1), { env, cwd, encoding: 'utf8', timeout: 600_000 });
  const line = r.stdout.trim().split('\n').pop() ?? '';
  const j = JSON.parse(line || '{}') as Result & { error?: string };
  if (r.status !== 0 || j.error) throw new Error(`client failed (${r.status}): ${j.error ?? r.stderr}`);
  return j;
}

const skip = watchSkipReason() ?? testHostSkipReason();
if (skip) {
  console.error(`bench:watch-egress cannot run here: ${skip}`);
  process.exit(2);
}
const host = await startTestHost();
const sb = await makeWatchSandbox('bench-egress');
try {
  mkdirSync(join(sb.state, 'policies'), { recursive: true });
  writeFileSync(join(sb.state, 'policies', '05-bench.yaml'), POLICY);
  mkdirSync(join(sb.state, 'net'), { recursive: true, mode: 0o700 });
  writeFileSync(join(sb.state, 'net', 'hosts'), `${TEST_HOST} allowed.test\n`);
  const client = join(sb.ws, 'client.cjs');
  writeFileSync(client, CLIENT);
  const args = [client, TEST_HOST, String(CONNECTIONS), String(MIB * 1024 * 1024)];
  const direct = run([process.execPath, ...args], sb.env, sb.ws);
  const steered = run(['claude', '-c', `exec "${process.execPath}" "$@"`, 'claude', ...args], sb.env, sb.ws);
  if (steered.bigBytes < MIB * 1024 * 1024) throw new Error(`steered download got ${steered.bigBytes} bytes`);
  const mibs = (r: Result) => (r.bigBytes / 1024 / 1024 / (r.bigMs / 1000)).toFixed(0);
  const row = (name: string, d: number, s: number, unit: string, digits = 2) =>
    console.log(`${name.padEnd(34)} ${d.toFixed(digits).padStart(9)} ${s.toFixed(digits).padStart(9)} ${unit.padEnd(6)} ${(s / d).toFixed(2)}×`); // prettier-ignore
  console.log(`watch-mode egress steering, ${CONNECTIONS} connections, ${MIB} MiB download (loadavg ${spawnSync('cat', ['/proc/loadavg'], { encoding: 'utf8' }).stdout.trim()})`); // prettier-ignore
  console.log(`${''.padEnd(34)} ${'direct'.padStart(9)} ${'steered'.padStart(9)}`);
  row('new connection + request, median', pct(direct.lat, 50), pct(steered.lat, 50), 'ms');
  row('new connection + request, p99', pct(direct.lat, 99), pct(steered.lat, 99), 'ms');
  row('download throughput', Number(mibs(direct)), Number(mibs(steered)), 'MiB/s', 0);
} finally {
  await destroyWatchSandbox(sb);
  host.close();
}
