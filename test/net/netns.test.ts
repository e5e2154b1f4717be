/**
 * warden-netns (helper/linux/netns): a new network namespace with only loopback, loopback TCP ports forwarded
 * to unix sockets outside (IPv4 and IPv6, large transfers, half-close), exit status and signals passed
 * through, the unprivileged user-namespace path, the forwarder dying with the command, and a clear exit 126
 * when no namespace can be made.
 */
import { describe, test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { spawn, spawnSync } from 'node:child_process';
import { chmodSync, existsSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import net from 'node:net';
import { join } from 'node:path';
import { tmpdir } from 'node:os';
import { helperBinary } from '../../core/util/paths.js';
import { netnsProblem } from '../../core/net/netns.js';

const bin = helperBinary('warden-netns');
const problem = netnsProblem();
const PY = existsSync('/usr/bin/python3') ? '/usr/bin/python3' : 'python3';

/** Runs a command to completion without blocking this process's event loop (the servers live here). */
function run(
  args: string[],
  opts: { prefix?: string[] } = {},
): Promise<{
  code: number | null;
  signal: NodeJS.Signals | null;
  stdout: string;
  stderr: string;
  pid: number;
}> {
  const argv = [...(opts.prefix ?? []), bin, ...args];
  const child = spawn(argv[0]!, argv.slice(1));
  let stdout = '';
  let stderr = '';
  child.stdout.on('data', (d) => (stdout += d));
  child.stderr.on('data', (d) => (stderr += d));
  return new Promise((res) =>
    child.on('close', (code, signal) => res({ code, signal, stdout, stderr, pid: child.pid ?? 0 })),
  );
}

/**
 * A unix-socket server: answers `PONG <tag>\n` at once to a `PING\n`, else, after the client half-closes,
 * `<tag> got N bytes\n` (so a half-close must reach it for the answer to come).
 */
function unixServer(path: string, tag: string): Promise<net.Server> {
  const server = net.createServer((s) => {
    let n = 0;
    s.on('data', (d: Buffer) => {
      if (n === 0 && d.toString() === 'PING\n') return void s.end(`PONG ${tag}\n`);
      n += d.length;
    });
    s.on('end', () => s.end(`${tag} got ${n} bytes\n`));
    s.on('error', () => {});
  });
  return new Promise((res) => server.listen(path, () => res(server)));
}

describe('warden-netns', { skip: problem ?? false }, () => {
  let dir: string;
  let a: net.Server;
  let b: net.Server;
  before(async () => {
    dir = mkdtempSync(join(tmpdir(), 'warden-netns-'));
    chmodSync(dir, 0o755);
    a = await unixServer(join(dir, 'a.sock'), 'A');
    b = await unixServer(join(dir, 'b.sock'), 'B');
    chmodSync(join(dir, 'a.sock'), 0o666);
  });
  after(() => {
    a?.close();
    b?.close();
    rmSync(dir, { recursive: true, force: true });
  });

  test('usage errors exit 2; --help exits 0', () => {
    assert.equal(spawnSync(bin, []).status, 2);
    assert.equal(spawnSync(bin, ['--forward', '80', '--', 'true']).status, 2);
    assert.equal(spawnSync(bin, ['--forward', '70000=/x', '--', 'true']).status, 2);
    const h = spawnSync(bin, ['--help'], { encoding: 'utf8' });
    assert.equal(h.status, 0);
    assert.match(h.stderr, /usage: warden-netns \[--forward PORT=UNIX_SOCKET_PATH\]/);
    assert.equal(spawnSync(bin, ['--', '/nonexistent/cmd']).status, 127);
  });

  test('the command sees only loopback, up; no route out and no DNS', async () => {
    const script = [
      'import socket',
      'print(socket.if_nameindex())',
      'try:\n  socket.create_connection(("1.1.1.1", 53), timeout=3)\nexcept OSError as e: print("connect", e.errno)',
      'try:\n  socket.getaddrinfo("example.com", 80)\nexcept socket.gaierror as e: print("dns", e.errno)',
      't = socket.socket(); t.bind(("127.0.0.1", 0)); t.listen(); c = socket.create_connection(t.getsockname()); print("lo up")',
    ].join('\n');
    const r = await run(['--', PY, '-c', script]);
    assert.equal(r.code, 0, r.stderr);
    assert.equal(r.stdout, "[(1, 'lo')]\nconnect 101\ndns -3\nlo up\n");
  });

  test('exit status and signals pass through unchanged (the spawned pid is the command)', async () => {
    assert.equal((await run(['--', 'sh', '-c', 'exit 7'])).code, 7);
    const k = await run(['--', 'sh', '-c', 'kill -TERM $$']);
    assert.equal(k.signal, 'SIGTERM');
    const p = await run(['--', 'sh', '-c', 'echo $$']);
    assert.equal(Number(p.stdout), p.pid);
  });

  test('forwards: two ports to two unix sockets, IPv4 and IPv6, 4 MiB up, then the half-close reaches the server', async () => {
    const script = [
      'import socket',
      'for host, port in [("127.0.0.1", 3128), ("::1", 3128), ("127.0.0.1", 4000)]:',
      '  s = socket.create_connection((host, port)); s.sendall(b"x" * (4 << 20)); s.shutdown(socket.SHUT_WR)',
      '  d = b""',
      '  while True:',
      '    x = s.recv(65536)',
      '    if not x: break',
      '    d += x',
      '  print(host, port, d.decode().strip())',
    ].join('\n');
    const r = await run([
      '--forward',
      `3128=${join(dir, 'a.sock')}`,
      '--forward',
      `4000=${join(dir, 'b.sock')}`,
      '--',
      PY,
      '-c',
      script,
    ]);
    assert.equal(r.code, 0, r.stderr);
    assert.equal(
      r.stdout,
      '127.0.0.1 3128 A got 4194304 bytes\n::1 3128 A got 4194304 bytes\n127.0.0.1 4000 B got 4194304 bytes\n',
    );
  });

  test('a forward whose unix socket is gone closes the connection instead of hanging', async () => {
    const script =
      'import socket\ns = socket.create_connection(("127.0.0.1", 5000)); s.settimeout(5)\nprint("eof" if s.recv(10) == b"" else "data")';
    const r = await run(['--forward', `5000=${join(dir, 'missing.sock')}`, '--', PY, '-c', script]);
    assert.equal(r.code, 0, r.stderr);
    assert.equal(r.stdout, 'eof\n');
    assert.match(r.stderr, /forward to .*missing\.sock failed/);
  });

  test('unprivileged: a user namespace with an identity map, and the forward still works', async () => {
    const script =
      'exec 3<>/dev/tcp/127.0.0.1/3128; printf "PING\\n" >&3; read -r line <&3; echo "$line"; id -u; cat /proc/self/uid_map';
    const r = await run(['--forward', `3128=${join(dir, 'a.sock')}`, '--', 'bash', '-c', script], {
      prefix: ['setpriv', '--reuid', '65534', '--regid', '65534', '--clear-groups', '--'],
    });
    assert.equal(r.code, 0, r.stderr);
    const [pong, uid, map] = r.stdout.split('\n');
    assert.equal(pong, 'PONG A');
    assert.equal(uid, '65534');
    assert.deepEqual(map?.trim().split(/\s+/), ['65534', '65534', '1']);
  });

  test('the forwarder dies with the command', async () => {
    const child = spawn(bin, ['--forward', `3128=${join(dir, 'a.sock')}`, '--', 'sleep', '1']);
    await new Promise((r) => setTimeout(r, 300));
    const kids = readFileSync(`/proc/${child.pid}/task/${child.pid}/children`, 'utf8').trim().split(/\s+/);
    const fwd = kids.find((k) => readFileSync(`/proc/${k}/comm`, 'utf8').trim() === 'warden-netfwd');
    assert.ok(fwd, `no forwarder among ${kids.join(',')}`);
    await new Promise((r) => child.on('close', r));
    let state = 'gone';
    for (let i = 0; i < 40; i++) {
      try {
        state = /State:\s+(\S)/.exec(readFileSync(`/proc/${fwd}/status`, 'utf8'))?.[1] ?? 'gone';
      } catch {
        state = 'gone';
      }
      if (state === 'gone' || state === 'Z') break;
      await new Promise((r) => setTimeout(r, 50));
    }
    assert.ok(state === 'gone' || state === 'Z', `forwarder ${fwd} is still ${state}`);
  });

  test('no namespace can be made: exit 126 with a message saying what to do', () => {
    // user.max_net_namespaces is per user namespace: 0 inside a fresh one makes every CLONE_NEWNET fail
    const r = spawnSync(
      'unshare',
      ['-U', '-r', 'sh', '-c', `echo 0 > /proc/sys/user/max_net_namespaces && exec "$0" -- true`, bin],
      { encoding: 'utf8' },
    );
    assert.equal(r.status, 126, r.stderr);
    assert.match(r.stderr, /cannot create a network namespace: .*--net host/);
  });
});

if (problem) test('warden-netns', (t) => t.skip(`no network namespace can be made here: ${problem}`));
