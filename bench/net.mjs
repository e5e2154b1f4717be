#!/usr/bin/env node
// `node bench/net.mjs`: the egress proxy against a direct connection on loopback, measured in the same
// invocation. The same client (Node, raw sockets) runs twice against one local origin server:
//   direct — outside any run, straight to 127.0.0.1:<origin>;
//   proxied — inside `warden run --net isolated`: CONNECT through 127.0.0.1:3128 in the run's network
//             namespace → warden-netns forwarder → the daemon's per-run unix socket → policy → origin.
// Figures: connect latency (new connection + small request/response, median and p99 over N) and throughput of
// one large download; printed with the ratio proxied / direct. The proxied figures include the policy
// decision and the journal insert of each connection's `connect` event.
//
// Usage: node bench/net.mjs [--connections N] [--mbytes M]
import { spawn } from 'node:child_process';
import { mkdirSync, rmSync, writeFileSync, realpathSync } from 'node:fs';
import http from 'node:http';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';

const repo = fileURLToPath(new URL('..', import.meta.url));
const warden = join(repo, 'bin', 'warden.js');
const args = process.argv.slice(2);
const opt = (name, dflt) => Number(args[args.indexOf(name) + 1] || dflt) || dflt;
const connections = opt('--connections', 300);
const mbytes = opt('--mbytes', 256);
const root = join(repo, '.scratch', `bench-net-${process.pid}`);
const ws = join(root, 'ws');
const state = join(root, 'state');
mkdirSync(ws, { recursive: true });
mkdirSync(join(state, 'net'), { recursive: true, mode: 0o700 });
writeFileSync(join(state, 'net', 'hosts'), '127.0.0.1 origin.bench\n');
const policy = join(root, '05-bench.yaml');
writeFileSync(
  policy,
  'network:\n  rules:\n    - id: bench-origin\n      hosts: [origin.bench]\n      decision: allow\n',
);

// The origin: /small answers 2 bytes, /big?n=N streams N bytes in 64 KiB chunks.
const chunk = Buffer.alloc(64 * 1024, 'x');
const origin = http.createServer((req, res) => {
  const u = new URL(req.url, 'http://x');
  if (u.pathname !== '/big') return res.end('ok');
  let left = Number(u.searchParams.get('n'));
  res.writeHead(200, { 'content-length': left });
  const pump = () => {
    while (left > 0) {
      const c = left >= chunk.length ? chunk : chunk.subarray(0, left);
      left -= c.length;
      if (!res.write(c)) return res.once('drain', pump);
    }
    res.end();
  };
  pump();
});
await new Promise((r) => origin.listen(0, '127.0.0.1', r));
const port = origin.address().port;

// The client, run as a separate process in both modes; prints one JSON line.
const client = join(root, 'client.mjs');
writeFileSync(
  client,
  `import net from 'node:net';
const [mode, port, n, mb] = process.argv.slice(2);
const target = mode === 'proxy' ? { host: '127.0.0.1', port: 3128 } : { host: '127.0.0.1', port: Number(port) };
function open() {
  return new Promise((res, rej) => {
    const s = net.connect(target, () => {
      if (mode !== 'proxy') return res(s);
      s.write('CONNECT origin.bench:' + port + ' HTTP/1.1\\r\\nHost: origin.bench\\r\\n\\r\\n');
      let head = '';
      const onData = (d) => {
        head += d.toString('latin1');
        if (!head.includes('\\r\\n\\r\\n')) return;
        s.off('data', onData);
        head.startsWith('HTTP/1.1 200') ? res(s) : rej(new Error(head));
      };
      s.on('data', onData);
    });
    s.on('error', rej);
  });
}
function request(s, path, bytes) {
  return new Promise((res) => {
    let got = 0;
    let headEnd = -1;
    let buf = Buffer.alloc(0);
    s.on('data', (d) => {
      if (headEnd < 0) {
        buf = Buffer.concat([buf, d]);
        headEnd = buf.indexOf('\\r\\n\\r\\n');
        if (headEnd < 0) return;
        got = buf.length - headEnd - 4;
      } else got += d.length;
      if (got >= bytes) { s.destroy(); res(); }
    });
    s.write('GET ' + path + ' HTTP/1.1\\r\\nHost: origin.bench\\r\\n\\r\\n');
  });
}
const lat = [];
for (let i = 0; i < Number(n); i++) {
  const t = process.hrtime.bigint();
  await request(await open(), '/small', 2);
  lat.push(Number(process.hrtime.bigint() - t) / 1e6);
}
lat.sort((a, b) => a - b);
const total = Number(mb) * 1024 * 1024;
const s = await open();
const t = process.hrtime.bigint();
await request(s, '/big?n=' + total, total);
const secs = Number(process.hrtime.bigint() - t) / 1e9;
console.log(JSON.stringify({ median: lat[Math.floor(lat.length / 2)], p99: lat[Math.floor(lat.length * 0.99)], mbps: Number(mb) / secs }));
`,
);

function runJson(cmd, argv, env) {
  return new Promise((resolve, reject) => {
    const c = spawn(cmd, argv, { cwd: ws, env, stdio: ['ignore', 'pipe', 'pipe'] });
    let out = '';
    let err = '';
    c.stdout.on('data', (d) => (out += d));
    c.stderr.on('data', (d) => (err += d));
    c.on('close', (code) => {
      const line = out.trim().split('\n').pop();
      try {
        resolve(JSON.parse(line));
      } catch {
        reject(new Error(`${cmd} ${argv.join(' ')} exited ${code}: ${out}\n${err}`));
      }
    });
  });
}

const env = {
  ...process.env,
  WARDEN_STATE: state,
  WARDEN_NO_PROMPT: '1',
  HOME: realpathSync(process.env.HOME || '/root'),
};
const direct = await runJson(process.execPath, [client, 'direct', port, connections, mbytes], env);
const proxied = await runJson(
  process.execPath,
  [warden, 'run', '-q', '--net', 'isolated', '--workspace', ws, '--policy', policy, '--', process.execPath, client, 'proxy', port, connections, mbytes],
  env,
); // prettier-ignore

const f = (x, d = 3) => x.toFixed(d);
console.log(`egress proxy vs direct on loopback (${connections} connections, ${mbytes} MiB download)`);
console.log(`                     direct     proxied    ratio`);
console.log(`connect+req median   ${f(direct.median).padStart(7)} ms ${f(proxied.median).padStart(7)} ms  ${f(proxied.median / direct.median, 1)}x`); // prettier-ignore
console.log(`connect+req p99      ${f(direct.p99).padStart(7)} ms ${f(proxied.p99).padStart(7)} ms  ${f(proxied.p99 / direct.p99, 1)}x`); // prettier-ignore
console.log(`throughput           ${f(direct.mbps, 0).padStart(7)} MiB/s ${f(proxied.mbps, 0).padStart(5)} MiB/s  ${f(proxied.mbps / direct.mbps, 2)}x`); // prettier-ignore
console.log(`added latency per connection (median): ${f(proxied.median - direct.median)} ms`);

spawn(process.execPath, [warden, 'daemon', '--stop'], { env, stdio: 'ignore' }).on('close', () => {
  origin.close();
  rmSync(root, { recursive: true, force: true });
});
