// warden-supervise on less common paths: FIFOs, fd reopens, O_TMPFILE links, metadata ops, truncate,
// device nodes, a de-privileged agent under a root supervisor, and signal forwarding.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import * as fs from 'node:fs';
import { join } from 'node:path';
import {
  cleanup,
  evs,
  makeEnv,
  missingHelper,
  python,
  readEvents,
  run,
  sh,
  supervise,
  type Env,
} from './env.js';

const skip = missingHelper();

function withEnv(name: string, fn: (e: Env) => void | Promise<void>): void {
  test(name, { skip, timeout: 30000 }, async () => {
    const e = makeEnv();
    try {
      await fn(e);
    } finally {
      cleanup(e);
    }
  });
}

withEnv('a write-open of a FIFO waits for its reader without blocking the supervisor', (e) => {
  const { r } = sh(
    e,
    'mkfifo p && (cat p > got &) && echo through-fifo > p; wait; echo other > other.txt; sleep 0.2; cat got',
  );
  assert.equal(r.status, 0, r.stderr);
  assert.equal(r.stdout, 'through-fifo\n');
  assert.equal(fs.readFileSync(join(e.ws, 'other.txt'), 'utf8'), 'other\n');
});

withEnv(
  '/dev/stdout is the fd it names: a file in the workspace is journaled, a pipe is just reopened',
  (e) => {
    const out = join(e.ws, 'out.txt');
    // (node's stdio "pipes" are socketpairs, which cannot be reopened: make a real pipe inside)
    const { r, lines } = sh(e, 'echo to-null > /dev/null; (echo to-pipe > /dev/stdout) | cat > piped.txt');
    assert.equal(r.status, 0, r.stderr);
    assert.equal(fs.readFileSync(join(e.ws, 'piped.txt'), 'utf8'), 'to-pipe\n');
    assert.ok(
      !evs(lines).some((l) => (l.path ?? '').startsWith('/dev/')),
      'devices and pipes are not journaled',
    );
    const viaFile = sh(e, `exec > ${out}; echo again > /dev/stdout`);
    assert.equal(viaFile.r.status, 0, viaFile.r.stderr);
    assert.equal(fs.readFileSync(out, 'utf8'), 'again\n');
    assert.ok(
      evs(viaFile.lines).some((l) => l.path === out && l.op === 'write'),
      'reopen of a workspace file is journaled by its path',
    );
  },
);

withEnv(
  'an O_TMPFILE file linked into the workspace, metadata ops and truncate are performed and journaled',
  (e) => {
    const script = [
      'import os',
      'fd = os.open(".", os.O_TMPFILE | os.O_WRONLY, 0o644); os.write(fd, b"tmp")',
      'os.link(f"/proc/self/fd/{fd}", "named", follow_symlinks=True)',
      'with open("m", "w") as f: f.write("0123456789")',
      'os.truncate("m", 4); os.chmod("m", 0o600); os.utime("m", (1, 2))',
      'os.symlink("m", "sl"); os.utime("sl", (5, 6), follow_symlinks=False)',
      'try:\n  os.mknod("dev", 0o600 | 0o020000, os.makedev(1, 3)); print("mknod ok")',
      'except OSError as x: print("mknod", x.errno)',
    ].join('\n');
    const { r, lines } = run(e, [python, '-c', script]);
    assert.equal(r.status, 0, r.stderr);
    assert.equal(r.stdout.trim(), 'mknod 1', 'no device nodes through the supervisor');
    assert.equal(fs.readFileSync(join(e.ws, 'named'), 'utf8'), 'tmp');
    const st = fs.statSync(join(e.ws, 'm'));
    assert.equal(st.mode & 0o777, 0o600);
    assert.equal(st.mtimeMs, 2000);
    assert.equal(st.size, 4);
    assert.equal(fs.lstatSync(join(e.ws, 'sl')).mtimeMs, 6000);
    const m = join(e.ws, 'm');
    const chmod = evs(lines).find((l) => l.path === m && (l.sys === 'chmod' || l.sys === 'fchmodat'));
    assert.equal(chmod?.pre?.kind, 'meta');
    assert.equal((chmod?.pre?.mode ?? 0) & 0o777, 0o644);
    const trunc = evs(lines).find((l) => l.path === m && l.sys === 'truncate');
    assert.equal(trunc?.pre?.kind, 'copy');
    assert.equal(fs.readFileSync(join(e.stage, String(trunc?.seq)), 'utf8'), '0123456789');
    assert.ok(evs(lines).some((l) => l.path === join(e.ws, 'named') && l.op === 'create' && l.err === 0));
  },
);

test(
  'a de-privileged agent under a root supervisor gets its own permission checks',
  { skip: skip ?? (process.getuid?.() !== 0 ? 'needs root' : undefined) },
  () => {
    const e = makeEnv();
    try {
      fs.chmodSync(e.dir, 0o755);
      fs.chmodSync(e.ws, 0o755);
      fs.writeFileSync(join(e.ws, 'rootfile'), 'root\n', { mode: 0o644 });
      const script = [
        'import os',
        'os.setgroups([]); os.setgid(65534); os.setuid(65534)',
        'for f in ["rootfile", "newfile"]:',
        '  try:\n    open(f, "w").write("x"); print(f, "written")',
        '  except OSError as x: print(f, x.errno)',
        'try:\n  os.unlink("rootfile"); print("unlinked")',
        'except OSError as x: print("unlink", x.errno)',
      ].join('\n');
      const { r } = run(e, [python, '-c', script]);
      assert.equal(r.status, 0, r.stderr);
      assert.equal(r.stdout, 'rootfile 13\nnewfile 13\nunlink 13\n');
      assert.equal(fs.readFileSync(join(e.ws, 'rootfile'), 'utf8'), 'root\n');
    } finally {
      cleanup(e);
    }
  },
);

test(
  'SIGTERM to the supervisor is forwarded to the agent process group',
  { skip, timeout: 20000 },
  async () => {
    const e = makeEnv();
    try {
      const p = spawn(
        supervise,
        ['--table', e.table, '--', 'sh', '-c', 'echo started > started; sleep 30; echo no > survived'],
        {
          cwd: e.ws,
          stdio: 'ignore',
        },
      );
      const deadline = Date.now() + 5000;
      while (!fs.existsSync(join(e.ws, 'started')) && Date.now() < deadline)
        await new Promise((res) => setTimeout(res, 20));
      const exited = new Promise<number | null>((res) => p.on('exit', (code) => res(code)));
      p.kill('SIGTERM');
      assert.equal(await exited, 143);
      assert.equal(fs.existsSync(join(e.ws, 'survived')), false);
      const end = readEvents(e).at(-1);
      assert.equal(end?.t, 'end');
      assert.equal(end?.signal, 15);
    } finally {
      cleanup(e);
    }
  },
);

withEnv('unix connects are performed for the agent (path, abstract, datagram); TCP is let through', (e) => {
  const script = [
    'import socket',
    'srv = socket.socket(socket.AF_UNIX); srv.bind("s.sock"); srv.listen(1)',
    'c = socket.socket(socket.AF_UNIX); c.connect("s.sock"); a, _ = srv.accept(); c.send(b"hi"); print("path", a.recv(2).decode())',
    'ab = socket.socket(socket.AF_UNIX); ab.bind("\\0warden-abs-test"); ab.listen(1)',
    'c2 = socket.socket(socket.AF_UNIX); c2.connect("\\0warden-abs-test"); print("abstract ok")',
    'c3 = socket.socket(socket.AF_UNIX)',
    'try:\n  c3.connect("missing.sock")',
    'except OSError as x: print("missing", x.errno)',
    't = socket.socket(); t.bind(("127.0.0.1", 0)); t.listen(1)',
    'u = socket.socket(); u.connect(t.getsockname()); print("tcp ok")',
    'd = socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM); d.bind("d.sock")',
    'u2 = socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM); u2.connect("d.sock"); u2.send(b"x"); print("dgram", d.recv(1).decode())',
  ].join('\n');
  const { r } = run(e, [python, '-c', script]);
  assert.equal(r.status, 0, r.stderr);
  assert.equal(r.stdout, 'path hi\nabstract ok\nmissing 2\ntcp ok\ndgram x\n');
});

withEnv('bad input from the agent gets kernel-like errors and never kills the supervisor', (e) => {
  // bad pointers, a 5000-byte path, a path ending exactly at an unmapped page, a bad argv array, a bad dirfd
  const script =
    'import ctypes, mmap, os\nlibc = ctypes.CDLL(None, use_errno=True)\nlibc.syscall.restype = ctypes.c_long\ndef sc(*a):\n    r = libc.syscall(*[ctypes.c_long(x) if isinstance(x, int) else x for x in a])\n    return r, ctypes.get_errno()\nAT_FDCWD = -100\nO_WRONLY_CREAT = os.O_WRONLY | os.O_CREAT\n# bad pointer\nprint("badptr", sc(257, AT_FDCWD, 1, O_WRONLY_CREAT, 0o644))\n# huge path\nbig = ctypes.create_string_buffer(b"a" * 5000)\nprint("huge", sc(257, AT_FDCWD, ctypes.addressof(big), O_WRONLY_CREAT, 0o644))\n# a path whose NUL is the last byte of a page followed by an unmapped page\nm = mmap.mmap(-1, 2 * mmap.PAGESIZE, prot=mmap.PROT_READ | mmap.PROT_WRITE)\nbase = ctypes.addressof(ctypes.c_char.from_buffer(m))\nlibc.mprotect.argtypes = [ctypes.c_void_p, ctypes.c_size_t, ctypes.c_int]\nname = b"edge.txt\\0"\noff = mmap.PAGESIZE - len(name)\nm[off:off + len(name)] = name\nlibc.mprotect(ctypes.c_void_p(base + mmap.PAGESIZE), mmap.PAGESIZE, 0)\nr = sc(257, AT_FDCWD, base + off, O_WRONLY_CREAT, 0o644)\nprint("edge", r[0] >= 0, os.path.exists("edge.txt"))\n# a path running into the unmapped page\nm[mmap.PAGESIZE - 4:mmap.PAGESIZE] = b"abcd"\nprint("cross", sc(257, AT_FDCWD, base + mmap.PAGESIZE - 4, O_WRONLY_CREAT, 0o644))\n# execve with a bad argv pointer\np = ctypes.create_string_buffer(b"/bin/true")\nprint("execve-badargv", sc(59, ctypes.addressof(p), 8, 0))\n# rename with a bad second pointer, unlinkat on a closed dirfd\na = ctypes.create_string_buffer(b"edge.txt")\nprint("rename-bad2", sc(82, ctypes.addressof(a), 16))\nprint("unlinkat-badfd", sc(263, 999, ctypes.addressof(a), 0))\nprint("still-there", os.path.exists("edge.txt"))\n';
  const { r, lines } = run(e, [python, '-c', script]);
  assert.equal(r.status, 0, r.stderr);
  assert.equal(
    r.stdout,
    [
      'badptr (-1, 14)',
      'huge (-1, 36)',
      'edge True True',
      'cross (-1, 14)',
      'execve-badargv (-1, 14)',
      'rename-bad2 (-1, 14)',
      'unlinkat-badfd (-1, 9)',
      'still-there True',
      '',
    ].join('\n'),
  );
  assert.equal(lines.at(-1)?.t, 'end');
});

withEnv(
  'paths through /proc/self/cwd, /proc/PID/root and /dev/fd/N/… are resolved and judged by their real target',
  (e) => {
    fs.mkdirSync(join(e.ws, 'sub'));
    const script = [
      'import os',
      'open("/proc/self/cwd/a1", "w").write("1")',
      'open(f"/proc/{os.getpid()}/root{os.getcwd()}/a2", "w").write("2")',
      'fd = os.open("sub", os.O_RDONLY)',
      'open(f"/dev/fd/{fd}/a3", "w").write("3")',
      'try:\n  open(f"/proc/self/root/{os.getcwd()}/../outside/x", "w"); print("escaped")',
      'except OSError as x: print("outside", x.errno)',
    ].join('\n');
    const { r, lines } = run(e, [python, '-c', script]);
    assert.equal(r.status, 0, r.stderr);
    assert.equal(r.stdout, 'outside 13\n');
    assert.equal(fs.readFileSync(join(e.ws, 'a1'), 'utf8'), '1');
    assert.equal(fs.readFileSync(join(e.ws, 'a2'), 'utf8'), '2');
    assert.equal(fs.readFileSync(join(e.ws, 'sub', 'a3'), 'utf8'), '3');
    assert.equal(fs.existsSync(join(e.outside, 'x')), false);
    const paths = evs(lines)
      .filter((l) => l.op === 'create')
      .map((l) => l.path);
    assert.deepEqual(paths, [
      join(e.ws, 'a1'),
      join(e.ws, 'a2'),
      join(e.ws, 'sub', 'a3'),
      join(e.outside, 'x'),
    ]);
  },
);

withEnv(
  'an argv swapped by another thread after the exec check is caught before rm touches anything',
  (e) => {
    // A thread flips the rm target between "build" and HOME while its process calls execve. Some attempts are
    // denied at the check, some run on "build", and when the kernel reads the swapped argv after our check the
    // new image is killed at its first trapped op. Whatever the interleaving, HOME must survive.
    fs.writeFileSync(join(e.home, 'precious'), 'p');
    const script =
      'import ctypes, os, sys, threading\nhome = sys.argv[1].encode()\nlibc = ctypes.CDLL(None, use_errno=True)\nN = int(sys.argv[2])\nfor attempt in range(N):\n    os.makedirs("build", exist_ok=True)\n    pid = os.fork()\n    if pid == 0:\n        target = ctypes.create_string_buffer(max(len(home), 5) + 1)\n        benign = b"build"\n        target.value = benign\n        stop = False\n        def flip():\n            while True:\n                ctypes.memmove(target, home + b"\\0", len(home) + 1)\n                ctypes.memmove(target, benign + b"\\0", len(benign) + 1)\n        threading.Thread(target=flip, daemon=True).start()\n        rm = ctypes.c_char_p(b"/bin/rm")\n        argv = (ctypes.c_char_p * 4)(b"rm", b"-rf", ctypes.cast(target, ctypes.c_char_p), None)\n        envp = (ctypes.c_char_p * 1)(None)\n        libc.execve(rm, argv, envp)\n        os._exit(100 + ctypes.get_errno())\n    _, st = os.waitpid(pid, 0)\n    print(os.waitstatus_to_exitcode(st))\n';
    const { r, lines } = run(e, [python, '-c', script, e.home, '40'], 120000);
    assert.equal(r.status, 0, r.stderr);
    assert.equal(fs.readFileSync(join(e.home, 'precious'), 'utf8'), 'p');
    const outcomes = r.stdout.trim().split('\n');
    assert.equal(outcomes.length, 40);
    const killed = outcomes.filter((o) => o === '-9').length;
    const faults = lines.filter(
      (l) => l.t === 'fault' && /argv changed after the exec check/.test(l.what ?? ''),
    ).length;
    assert.equal(faults, killed, 'every kill is explained by a fault line');
  },
);
