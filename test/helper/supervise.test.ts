// warden-supervise end to end: real commands on real files in a temp tree, asserting on bytes on disk and on
// the event log (helper/linux/WIRE.md §2). Never touches the real HOME or system paths.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawn, spawnSync } from 'node:child_process';
import * as fs from 'node:fs';
import * as net from 'node:net';
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

function withEnv(
  name: string,
  fn: (e: Env) => void | Promise<void>,
  opts?: Parameters<typeof makeEnv>[0],
): void {
  test(name, { skip }, async () => {
    const e = makeEnv(opts);
    try {
      await fn(e);
    } finally {
      cleanup(e);
    }
  });
}

withEnv('write-open of an existing file keeps a copy pre-image with the old bytes', (e) => {
  fs.writeFileSync(join(e.ws, 'f.txt'), 'old bytes\n');
  const { r, lines } = sh(e, 'echo new > f.txt');
  assert.equal(r.status, 0, r.stderr);
  assert.equal(fs.readFileSync(join(e.ws, 'f.txt'), 'utf8'), 'new\n');
  const ev = evs(lines).find((l) => l.path === join(e.ws, 'f.txt'));
  assert.ok(ev, 'event for f.txt');
  assert.equal(ev.op, 'write');
  assert.equal(ev.decision, 'allow');
  assert.equal(ev.pre?.kind, 'copy');
  assert.equal(ev.pre?.size, 10);
  assert.equal(fs.readFileSync(join(e.stage, String(ev.seq)), 'utf8'), 'old bytes\n');
  const start = lines[0]!;
  assert.equal(start.t, 'start');
  assert.equal(lines.at(-1)!.t, 'end');
});

withEnv('a create reports pre kind none and op create', (e) => {
  const { r, lines } = sh(e, 'echo hi > new.txt');
  assert.equal(r.status, 0, r.stderr);
  const ev = evs(lines).find((l) => l.path === join(e.ws, 'new.txt'));
  assert.equal(ev?.op, 'create');
  assert.equal(ev?.pre?.kind, 'none');
  assert.equal(fs.existsSync(join(e.stage, String(ev?.seq))), false);
});

withEnv('rm -rf dir keeps link pre-images of every file and meta for dirs; everything is gone', (e) => {
  const d = join(e.ws, 'd');
  fs.mkdirSync(join(d, 'sub'), { recursive: true });
  const files: Record<string, string> = { 'a.txt': 'A', 'sub/b.txt': 'BB', 'sub/.hidden': 'H' };
  for (const [k, v] of Object.entries(files)) fs.writeFileSync(join(d, k), v);
  const { r, lines } = sh(e, 'rm -rf d');
  assert.equal(r.status, 0, r.stderr);
  assert.equal(fs.existsSync(d), false);
  const deletes = evs(lines).filter((l) => l.op === 'delete');
  for (const [k, v] of Object.entries(files)) {
    const ev = deletes.find((l) => l.path === join(d, k));
    assert.ok(ev, `delete event for ${k}`);
    assert.equal(ev.pre?.kind, 'link');
    assert.equal(ev.pre?.nlink, 1);
    assert.equal(fs.readFileSync(join(e.stage, String(ev.seq)), 'utf8'), v);
  }
  for (const dir of [d, join(d, 'sub')]) {
    const ev = deletes.find((l) => l.path === dir);
    assert.equal(ev?.pre?.kind, 'meta');
    assert.equal(ev?.pre?.type, 'dir');
  }
});

withEnv('a write outside the allowed paths is denied by the table with EACCES, file untouched', (e) => {
  fs.writeFileSync(join(e.outside, 'o'), 'keep');
  const { r, lines } = sh(e, `echo bad > ${join(e.outside, 'o')} || echo "rc=$?"`);
  assert.match(r.stderr, /Permission denied/);
  assert.equal(fs.readFileSync(join(e.outside, 'o'), 'utf8'), 'keep');
  const ev = evs(lines).find((l) => l.path === join(e.outside, 'o'));
  assert.equal(ev?.decision, 'deny');
  assert.equal(ev?.rule, 'no-rule');
  assert.equal(ev?.err, 13);
});

withEnv(
  'the table decides what the supervisor sees; Landlock walls off what it does not (unix socket bind)',
  (e) => {
    fs.writeFileSync(join(e.outside, 'o'), 'keep');
    const script = [
      'import socket, os',
      `try:\n  open(${JSON.stringify(join(e.outside, 'o'))}, 'w').write('x'); print('open ok')`,
      'except OSError as x: print("open", x.errno)',
      's = socket.socket(socket.AF_UNIX)',
      `try:\n  s.bind(${JSON.stringify(join(e.outside, 'sock'))}); print('bind ok')`,
      'except OSError as x: print("bind", x.errno)',
    ].join('\n');
    const { r, lines } = run(e, [python, '-c', script]);
    assert.equal(r.status, 0, r.stderr);
    // the open is trapped: the table (which allows it here) decides, and the write is journaled
    assert.match(r.stdout, /^open ok$/m);
    assert.equal(fs.readFileSync(join(e.outside, 'o'), 'utf8'), 'x');
    const ev = evs(lines).find((l) => l.path === join(e.outside, 'o'));
    assert.equal(ev?.rule, 'allow-outside');
    assert.equal((ev?.pre as { kind?: string } | null)?.kind, 'copy');
    // bind is not trapped: only Landlock stands between it and the outside
    const start = lines[0]!;
    assert.ok((start.landlock ?? 0) > 0, 'Landlock is available on this kernel');
    assert.match(r.stdout, /^bind 13$/m, 'Landlock must refuse MAKE_SOCK outside the wall');
    assert.equal(fs.existsSync(join(e.outside, 'sock')), false);
  },
  { rules: ['rule\tallow-outside\t50-test\tallow\t*\tpath\t/**'] },
);

withEnv('a symlink pointing outside: writing through it is denied and judged on the real target', (e) => {
  fs.writeFileSync(join(e.outside, 'o'), 'keep');
  const { r, lines } = sh(e, `ln -s ${join(e.outside, 'o')} lnk && echo bad > lnk; echo "rc=$?"`);
  assert.match(r.stdout, /rc=2/);
  assert.equal(fs.readFileSync(join(e.outside, 'o'), 'utf8'), 'keep');
  const ev = evs(lines).find((l) => l.sys === 'openat' && l.decision === 'deny');
  assert.equal(ev?.path, join(e.outside, 'o'));
  const link = evs(lines).find((l) => l.sys === 'symlink' || l.sys === 'symlinkat');
  assert.equal(link?.path2, join(e.outside, 'o'));
});

withEnv('ln /outside/file ws/x is denied (a hardlink writes the source inode)', (e) => {
  fs.writeFileSync(join(e.outside, 'o'), 'keep');
  const { r, lines } = sh(e, `ln ${join(e.outside, 'o')} x; echo "rc=$?"`);
  assert.match(r.stdout, /rc=1/);
  assert.equal(fs.existsSync(join(e.ws, 'x')), false);
  assert.equal(fs.statSync(join(e.outside, 'o')).nlink, 1);
  const ev = evs(lines).find((l) => l.sys === 'linkat' || l.sys === 'link');
  assert.equal(ev?.decision, 'deny');
  assert.equal(ev?.path2, join(e.outside, 'o'));
});

withEnv('rm -rf of the fake HOME is denied at exec with EPERM; nothing is removed', (e) => {
  fs.writeFileSync(join(e.home, 'precious'), 'p');
  const { r, lines } = sh(e, 'rm -rf "$HOME"');
  assert.notEqual(r.status, 0);
  assert.equal(fs.readFileSync(join(e.home, 'precious'), 'utf8'), 'p');
  const ev = evs(lines).find((l) => l.op === 'exec' && l.decision === 'deny');
  assert.equal(ev?.rule, 'protect-home');
  assert.equal(ev?.err, 1);
  assert.deepEqual(ev?.argv, ['rm', '-rf', e.home]);
  assert.equal(evs(lines).filter((l) => l.op === 'delete').length, 0);
});

withEnv('the state dir is unreadable and the daemon socket unconnectable from the agent', async (e) => {
  fs.writeFileSync(join(e.state, 'secret'), 's');
  const received: string[] = [];
  const server = net.createServer((c) => c.on('data', (d) => received.push(d.toString())));
  await new Promise<void>((res) => server.listen(e.socket, res));
  try {
    const script = [
      'import socket',
      `try:\n  open(${JSON.stringify(join(e.state, 'secret'))}).read(); print('read ok')`,
      'except OSError as x: print("read", x.errno)',
      's = socket.socket(socket.AF_UNIX)',
      `try:\n  s.connect(${JSON.stringify(e.socket)}); print('connect ok')`,
      'except OSError as x: print("connect", x.errno)',
    ].join('\n');
    const { r, lines } = run(e, [python, '-c', script]);
    assert.equal(r.status, 0, r.stderr);
    if ((lines[0]!.landlock ?? 0) > 0) assert.match(r.stdout, /^read 13$/m);
    assert.match(r.stdout, /^connect 13$/m);
    const ev = evs(lines).find((l) => l.op === 'connect');
    assert.equal(ev?.rule, 'builtin-state-dir');
    // the helper itself said hello and woke the daemon at least once
    const deadline = Date.now() + 3000;
    while (!received.join('').includes('"t":"hello"') && Date.now() < deadline)
      await new Promise((res) => setTimeout(res, 20));
    assert.match(received.join(''), /\{"t":"hello","run":1\}\n/);
  } finally {
    server.close();
  }
});

withEnv('io_uring_setup fails with EPERM', (e) => {
  const script =
    'import ctypes\nlibc = ctypes.CDLL(None, use_errno=True)\nr = libc.syscall(425, 8, 0)\nprint(r, ctypes.get_errno())';
  const { r } = run(e, [python, '-c', script]);
  assert.equal(r.status, 0, r.stderr);
  assert.equal(r.stdout.trim(), '-1 1');
});

withEnv('a command that does not exist exits 127; a table error exits 125 naming file:line', (e) => {
  const { r } = run(e, ['warden-no-such-command-xyz']);
  assert.equal(r.status, 127);
  assert.match(r.stderr, /warden-no-such-command-xyz: command not found/);
  fs.rmSync(e.events);
  fs.appendFileSync(e.table, 'bogus\tx\n');
  const lineNo = fs.readFileSync(e.table, 'utf8').trimEnd().split('\n').length;
  const bad = run(e, ['true']);
  assert.equal(bad.r.status, 125);
  assert.match(bad.r.stderr, new RegExp(`table:${lineNo}: unknown record kind 'bogus'`));
  assert.equal(fs.existsSync(e.events), false, 'command not started, no log');
});

test(
  'no pre-image, no op: an unwritable stage refuses delete and overwrite with EIO and a fault line',
  { skip },
  (t) => {
    const e = makeEnv();
    fs.writeFileSync(join(e.ws, 'f'), 'keep');
    // chattr +i makes even root's linkat/openat in the stage fail, like a full disk would
    const ch = spawnSync('chattr', ['+i', e.stage], { encoding: 'utf8' });
    if (ch.status !== 0) {
      cleanup(e);
      t.skip(`chattr +i failed (needs CAP_LINUX_IMMUTABLE and ext4/xfs/btrfs): ${ch.stderr.trim()}`);
      return;
    }
    try {
      const { r, lines } = sh(e, 'rm f; echo "rm=$?"; echo x > f; echo "write=$?"');
      assert.match(r.stdout, /rm=1/);
      assert.match(r.stdout, /write=2/);
      assert.match(r.stderr, /Input\/output error/);
      assert.equal(fs.readFileSync(join(e.ws, 'f'), 'utf8'), 'keep');
      assert.equal(lines.filter((l) => l.t === 'fault').length, 2);
      const refused = evs(lines).filter((l) => l.path === join(e.ws, 'f'));
      assert.deepEqual(
        refused.map((l) => [l.op, l.err, l.pre?.kind]),
        [
          ['delete', 5, 'none'],
          ['write', 5, 'none'],
        ],
      );
    } finally {
      spawnSync('chattr', ['-i', e.stage]);
      cleanup(e);
    }
  },
);

withEnv('exit status and signals of the child are passed on', (e) => {
  assert.equal(sh(e, 'exit 3').r.status, 3);
  const { r, lines } = sh(e, 'kill -TERM $$');
  assert.equal(r.status, 143);
  const end = lines.at(-1)!;
  assert.equal(end.t, 'end');
  assert.equal(end.signal, 15);
});

withEnv('a descendant that outlives the child still gets answers; the run ends after it', (e) => {
  const { r, lines } = sh(e, '(sleep 0.3; echo late > late.txt) & exit 0');
  assert.equal(r.status, 0);
  assert.equal(fs.readFileSync(join(e.ws, 'late.txt'), 'utf8'), 'late\n');
  assert.ok(evs(lines).some((l) => l.path === join(e.ws, 'late.txt') && l.err === 0));
  assert.equal(lines.at(-1)!.t, 'end');
});

withEnv('rename over a file keeps the replaced file (link) and the source metadata (pre2)', (e) => {
  fs.writeFileSync(join(e.ws, 'a'), 'AAA');
  fs.writeFileSync(join(e.ws, 'b'), 'BBBB');
  const { r, lines } = sh(e, 'mv a b && mkdir m && chmod 700 m');
  assert.equal(r.status, 0, r.stderr);
  const ev = evs(lines).find((l) => l.op === 'rename' && l.err === 0);
  assert.equal(ev?.path, join(e.ws, 'a'));
  assert.equal(ev?.path2, join(e.ws, 'b'));
  assert.equal(ev?.pre?.kind, 'link');
  assert.equal(ev?.pre2?.kind, 'meta');
  assert.equal(fs.readFileSync(join(e.stage, String(ev?.seq)), 'utf8'), 'BBBB');
  const ch = evs(lines).find((l) => l.op === 'chmod');
  assert.equal(ch?.pre?.kind, 'meta');
  assert.equal((ch?.pre?.mode ?? 0) & 0o777, 0o755 & ~0o022);
  assert.equal(fs.statSync(join(e.ws, 'm')).mode & 0o777, 0o700);
});

withEnv('a file name that is not UTF-8 is journaled as path_hex', (e) => {
  const { r, lines } = run(e, [python, '-c', "open(b'n\\xff', 'w').write('x')"]);
  assert.equal(r.status, 0, r.stderr);
  const ev = evs(lines).find((l) => l.op === 'create');
  assert.equal(ev?.path_hex, Buffer.from(join(e.ws, 'n') + '\xff', 'latin1').toString('hex'));
});

withEnv('4 python threads writing: every op journaled, seq consecutive', (e) => {
  const script = [
    'import threading, os',
    'def w(i):',
    '  for k in range(40):',
    '    with open(f"t{i}_{k}", "w") as f: f.write("x")',
    '    os.unlink(f"t{i}_{k}")',
    'ts = [threading.Thread(target=w, args=(i,)) for i in range(4)]',
    '[t.start() for t in ts]; [t.join() for t in ts]',
  ].join('\n');
  const { r, lines } = run(e, [python, '-c', script]);
  assert.equal(r.status, 0, r.stderr);
  const all = evs(lines);
  assert.deepEqual(
    all.map((l) => l.seq),
    all.map((_, i) => i + 1),
  );
  const mine = all.filter((l) => /\/t\d_\d+$/.test(l.path ?? ''));
  assert.equal(mine.filter((l) => l.op === 'create').length, 160);
  assert.equal(mine.filter((l) => l.op === 'delete' && l.pre?.kind === 'link').length, 160);
  assert.ok(new Set(mine.map((l) => l.tid)).size >= 4, 'ops came from 4 threads');
  assert.equal(lines.at(-1)!.events, all.length);
});

test('SIGKILL of the supervisor mid-run ends the run; nothing hangs', { skip, timeout: 20000 }, async () => {
  const e = makeEnv();
  try {
    const p = spawn(
      supervise,
      ['--table', e.table, '--', 'sh', '-c', 'i=0; while :; do i=$((i+1)); echo $i > f$((i % 10)); done'],
      {
        cwd: e.ws,
        stdio: 'ignore',
      },
    );
    const deadline = Date.now() + 5000;
    while (evs(readEvents(e)).length < 20 && Date.now() < deadline)
      await new Promise((res) => setTimeout(res, 20));
    const agent = readEvents(e)[0]?.pid;
    assert.ok(agent, 'start line names the agent pid');
    const exited = new Promise<number | null>((res) =>
      p.on('exit', (_c, sig) => res(sig === 'SIGKILL' ? 137 : null)),
    );
    p.kill('SIGKILL');
    assert.equal(await exited, 137);
    const gone = Date.now() + 5000;
    let alive = true;
    while (alive && Date.now() < gone) {
      try {
        process.kill(agent, 0);
        await new Promise((res) => setTimeout(res, 20));
      } catch {
        alive = false;
      }
    }
    assert.equal(alive, false, 'the agent died with its supervisor (PDEATHSIG)');
  } finally {
    cleanup(e);
  }
});

withEnv(
  'above preimage_max the pre-image is toolarge (nothing kept); a file with two links is copied on delete',
  (e) => {
    fs.writeFileSync(join(e.ws, 'big'), Buffer.alloc(200, 1));
    fs.writeFileSync(join(e.ws, 'shared'), 'two names');
    fs.linkSync(join(e.ws, 'shared'), join(e.ws, 'other-name'));
    const { r, lines } = sh(e, 'echo small > big; rm shared');
    assert.equal(r.status, 0, r.stderr);
    const big = evs(lines).find((l) => l.path === join(e.ws, 'big'));
    assert.equal(big?.pre?.kind, 'toolarge');
    assert.equal(fs.existsSync(join(e.stage, String(big?.seq))), false);
    const del = evs(lines).find((l) => l.path === join(e.ws, 'shared'));
    assert.equal(del?.pre?.kind, 'copy');
    assert.equal(del?.pre?.nlink, 2);
    assert.equal(fs.readFileSync(join(e.stage, String(del?.seq)), 'utf8'), 'two names');
    assert.equal(fs.statSync(join(e.stage, String(del?.seq))).nlink, 1, 'a copy, not another link');
  },
  { preimageMax: 100 },
);

test(
  'unprivileged supervisor (the real deployment): Landlock, seccomp and pre-images all work without root',
  { skip: skip ?? (process.getuid?.() !== 0 ? 'needs root to drop to uid 65534 with setpriv' : undefined) },
  (t) => {
    const e = makeEnv();
    try {
      fs.writeFileSync(join(e.ws, 'f'), 'old');
      spawnSync('chown', ['-R', '65534:65534', e.dir]);
      const r = spawnSync(
        'setpriv',
        [
          '--reuid=65534',
          '--regid=65534',
          '--clear-groups',
          supervise,
          '--table',
          e.table,
          '--',
          'sh',
          '-c',
          'echo new > f; echo x > ../outside/o; echo "rc=$?"; cat ../state/runs/1/events.ndjson > /dev/null; echo "cat=$?"',
        ],
        { cwd: e.ws, encoding: 'utf8', timeout: 20000, env: { PATH: '/usr/bin:/bin', HOME: e.home } },
      );
      if (r.error) return t.skip(`setpriv not available: ${r.error.message}`);
      assert.equal(r.status, 0, r.stderr);
      assert.match(r.stdout, /rc=2/);
      assert.match(r.stdout, /cat=1/, 'the state dir is unreadable');
      const lines = readEvents(e);
      assert.ok(
        (lines[0]?.landlock ?? 0) > 0,
        'Landlock applied without privileges (PLATFORM.md: ABI 7 works)',
      );
      const ev = evs(lines).find((l) => l.path === join(e.ws, 'f'));
      assert.equal(ev?.pre?.kind, 'copy');
      assert.equal(fs.readFileSync(join(e.stage, String(ev?.seq)), 'utf8'), 'old');
      assert.equal(fs.readFileSync(join(e.ws, 'f'), 'utf8'), 'new\n');
      assert.equal(fs.existsSync(join(e.outside, 'o')), false);
    } finally {
      cleanup(e);
    }
  },
);
