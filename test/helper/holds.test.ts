// Holds (helper/linux/WIRE.md §3) end to end: warden-supervise under real commands on real trees, talking to a
// fake daemon that runs in this test process (a unix socket server at the table's `socket` path that reads the
// hello, records `hold` lines and answers `decide` lines as each test scripts it). The helper is started with
// `spawn` (async) because the daemon lives in this event loop. Every wait is bounded.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawn, spawnSync } from 'node:child_process';
import * as fs from 'node:fs';
import * as net from 'node:net';
import { join } from 'node:path';
import { performance } from 'node:perf_hooks';
import {
  cleanup,
  evs,
  makeEnv,
  missingHelper,
  python,
  readEvents,
  supervise,
  type Env,
  type Line,
} from './env.js';

const skip = missingHelper();

interface HoldMsg {
  t: 'hold';
  hold: number;
  seq: number;
  pid: number;
  tid: number;
  op: string;
  sys: string;
  path: string;
  decision: string;
  rule: string;
  deadline_ms: number;
  fallback: string;
  reason: string;
  burst: { root: string; count: number } | null;
  argv: string[];
  cwd: string;
}

/** A fake daemon: records every JSON line the helper sends; `onHold` scripts the answers. */
class FakeDaemon {
  server: net.Server;
  conns: net.Socket[] = [];
  msgs: Record<string, unknown>[] = [];
  holds: HoldMsg[] = [];
  /** performance.timeOrigin + performance.now() at each hold line's arrival. */
  arrivals: number[] = [];
  hello?: Record<string, unknown>;
  onHold: (h: HoldMsg, d: FakeDaemon) => void = () => {};

  constructor(readonly path: string) {
    this.server = net.createServer((s) => {
      this.conns.push(s);
      let buf = '';
      s.setEncoding('utf8');
      s.on('data', (chunk: string) => {
        buf += chunk;
        let nl: number;
        while ((nl = buf.indexOf('\n')) >= 0) {
          const line = buf.slice(0, nl);
          buf = buf.slice(nl + 1);
          if (!line) continue; // wake-up
          const at = performance.timeOrigin + performance.now();
          const m = JSON.parse(line) as Record<string, unknown>;
          this.msgs.push(m);
          if (m.t === 'hello') this.hello = m;
          if (m.t === 'hold') {
            this.holds.push(m as unknown as HoldMsg);
            this.arrivals.push(at);
            this.onHold(m as unknown as HoldMsg, this);
          }
        }
      });
      s.on('error', () => {});
    });
  }

  listen(): Promise<void> {
    return new Promise((res) => this.server.listen(this.path, res));
  }

  decide(hold: number, decision: 'allow' | 'deny', scope = 'once', by = 'person'): void {
    const line = JSON.stringify({ t: 'decide', hold, decision, scope, by }) + '\n';
    for (const c of this.conns) if (!c.destroyed) c.write(line);
  }

  send(raw: string): void {
    for (const c of this.conns) if (!c.destroyed) c.write(raw);
  }

  resolved(): Record<string, unknown>[] {
    return this.msgs.filter((m) => m.t === 'resolved');
  }

  close(): Promise<void> {
    for (const c of this.conns) c.destroy();
    return new Promise((res) => this.server.close(() => res()));
  }
}

interface ARun {
  status: number | null;
  signal: string | null;
  stdout: string;
  stderr: string;
  lines: Line[];
  ms: number;
}

/** Runs `cmd` supervised, asynchronously (the fake daemon shares this event loop); killed after timeoutMs. */
function runAsync(e: Env, cmd: string[], timeoutMs = 30000): Promise<ARun> {
  return new Promise((resolve) => {
    const t0 = performance.now();
    const p = spawn(supervise, ['--table', e.table, '--', ...cmd], {
      cwd: e.ws,
      env: { PATH: '/usr/local/bin:/usr/bin:/bin', HOME: e.home, LANG: 'C.UTF-8' },
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    let stdout = '';
    let stderr = '';
    p.stdout.setEncoding('utf8').on('data', (d: string) => (stdout += d));
    p.stderr.setEncoding('utf8').on('data', (d: string) => (stderr += d));
    const timer = setTimeout(() => p.kill('SIGKILL'), timeoutMs);
    p.on('close', (status, signal) => {
      clearTimeout(timer);
      resolve({ status, signal, stdout, stderr, lines: readEvents(e), ms: performance.now() - t0 });
    });
  });
}

const sh = (e: Env, script: string, timeoutMs?: number) => runAsync(e, ['sh', '-c', script], timeoutMs);
const bash = (e: Env, script: string, timeoutMs?: number) => runAsync(e, ['bash', '-c', script], timeoutMs);

function withDaemon(
  name: string,
  opts: Parameters<typeof makeEnv>[0],
  fn: (e: Env, d: FakeDaemon) => Promise<void>,
  daemon = true,
): void {
  test(name, { skip, timeout: 60000 }, async () => {
    const e = makeEnv(opts);
    const d = new FakeDaemon(e.socket);
    if (daemon) await d.listen();
    try {
      await fn(e, d);
    } finally {
      if (daemon) await d.close();
      cleanup(e);
    }
  });
}

function files(dir: string, n: number, prefix = 'f'): void {
  fs.mkdirSync(dir, { recursive: true });
  for (let i = 0; i < n; i++) fs.writeFileSync(join(dir, `${prefix}${i}`), `bytes ${i}\n`);
}

const delayRule = (e: Env, ms: number) =>
  `rule\tdelay-deletes\t50-delay\tdelay\tdelete\tpath\t${e.ws}/**\tdelay=${ms}`;
const noGate = ['bulk\t100000\t10000'];

withDaemon(
  'a delay rule not cancelled: the delete happens after the delay, pre-image kept',
  {},
  async (e, d) => {
    fs.writeFileSync(join(e.ws, 'victim'), 'keep me\n');
    fs.appendFileSync(e.table, `${delayRule(e, 400)}\n`);
    // rules are first-match in file order: rewrite the table so the delay rule comes before allow-ws
    reorder(e);
    const r = await sh(e, 'rm victim');
    assert.equal(r.status, 0, r.stderr);
    assert.equal(fs.existsSync(join(e.ws, 'victim')), false);
    assert.ok(r.ms >= 400, `took ${r.ms} ms`);
    assert.equal(d.holds.length, 1);
    const h = d.holds[0]!;
    assert.equal(h.decision, 'delay');
    assert.equal(h.path, join(e.ws, 'victim'));
    assert.equal(h.fallback, 'allow');
    assert.equal(h.reason, 'rule');
    assert.equal(d.hello?.run, 1);
    const ev = evs(r.lines).find((l) => l.path === join(e.ws, 'victim'))!;
    assert.equal(ev.decision, 'allow');
    assert.equal(ev.held, 'delay');
    assert.equal(ev.hold, h.hold);
    assert.equal(ev.seq, h.seq);
    assert.equal(ev.by, 'timeout');
    assert.ok((ev.held_ms ?? 0) >= 390, `held_ms ${ev.held_ms}`);
    assert.equal(ev.pre?.kind, 'link');
    assert.equal(fs.readFileSync(join(e.stage, String(ev.seq)), 'utf8'), 'keep me\n');
    assert.deepEqual(
      d.resolved().map((m) => [m.hold, m.decision, m.by]),
      [[h.hold, 'allow', 'timeout']],
    );
  },
);

/** Moves `rule` lines appended after the defaults to just before the first default rule. */
function reorder(e: Env): void {
  const lines = fs.readFileSync(e.table, 'utf8').trimEnd().split('\n');
  const first = lines.findIndex((l) => l.startsWith('rule\tprotect-home'));
  const landlock = lines.findIndex((l) => l.startsWith('landlock\t'));
  const added = lines.slice(landlock + 1);
  const out = [...lines.slice(0, first), ...added, ...lines.slice(first, landlock + 1)];
  fs.writeFileSync(e.table, out.join('\n') + '\n');
}

withDaemon(
  'a delay cancelled with decide deny scope burst: rm -rf deletes nothing',
  { extra: noGate },
  async (e, d) => {
    fs.appendFileSync(e.table, `${delayRule(e, 2000)}\n`);
    reorder(e);
    files(join(e.ws, 'dir', 'sub'), 10);
    files(join(e.ws, 'dir'), 10, 'g');
    d.onHold = (h) => setTimeout(() => d.decide(h.hold, 'deny', 'burst'), 100);
    const r = await sh(e, 'rm -rf dir');
    assert.notEqual(r.status, 0);
    assert.ok(r.ms < 1900, `denied during the window, not after it (${r.ms} ms)`);
    assert.equal(d.holds.length, 1);
    assert.equal(fs.readdirSync(join(e.ws, 'dir')).length, 11);
    assert.equal(fs.readdirSync(join(e.ws, 'dir', 'sub')).length, 10);
    const deletes = evs(r.lines).filter((l) => l.op === 'delete');
    assert.ok(deletes.length >= 2, `${deletes.length} deletes journaled`);
    for (const ev of deletes) {
      assert.equal(ev.decision, 'deny', JSON.stringify(ev));
      assert.equal(ev.err, 1); // EPERM
      assert.equal(ev.hold, d.holds[0]!.hold);
    }
    assert.equal(deletes.filter((l) => l.by === 'person').length, 1);
  },
);

withDaemon(
  'delay per burst: rm -rf of 200 files takes about one delay, not 200',
  { extra: noGate },
  async (e, d) => {
    fs.appendFileSync(e.table, `${delayRule(e, 400)}\n`);
    reorder(e);
    files(join(e.ws, 'many'), 200);
    const r = await sh(e, 'rm -rf many');
    assert.equal(r.status, 0, r.stderr);
    assert.equal(fs.existsSync(join(e.ws, 'many')), false);
    assert.ok(r.ms >= 400 && r.ms < 3000, `took ${r.ms} ms`);
    assert.equal(d.holds.length, 1);
    const deletes = evs(r.lines).filter((l) => l.op === 'delete');
    assert.equal(deletes.length, 201);
    assert.ok(deletes.every((l) => l.decision === 'allow' && l.hold === d.holds[0]!.hold));
    assert.equal(deletes.filter((l) => l.by === 'timeout').length, 1);
  },
);

for (const answer of ['allow', 'deny'] as const) {
  withDaemon(
    `bulk gate: rm -rf of 300 pre-existing files raises one bulk hold; ${answer}`,
    { extra: ['bulk\t50\t10000'] },
    async (e, d) => {
      const dir = join(e.ws, 'big');
      files(dir, 300);
      d.onHold = (h) => setTimeout(() => d.decide(h.hold, answer, 'once'), 50);
      const r = await sh(e, 'rm -rf big; echo after > later; cat later');
      assert.equal(d.holds.length, 1, JSON.stringify(d.holds));
      const h = d.holds[0]!;
      assert.equal(h.reason, 'bulk');
      assert.equal(h.decision, 'ask');
      assert.deepEqual(h.burst, { root: dir, count: 51 });
      assert.equal(r.status, 0, r.stderr);
      assert.equal(r.stdout, 'after\n', 'the agent keeps running');
      const deletes = evs(r.lines).filter((l) => l.op === 'delete');
      if (answer === 'allow') {
        assert.equal(fs.existsSync(dir), false);
        assert.equal(deletes.filter((l) => l.err === 0).length, 301);
      } else {
        assert.equal(fs.readdirSync(dir).length, 250);
        const denied = deletes.filter((l) => l.decision === 'deny');
        // the held delete and the 249 after it (rm skips the rmdir of a dir it could not empty)
        assert.equal(denied.filter((l) => l.path?.startsWith(dir + '/')).length, 250);
        assert.ok(denied.every((l) => l.hold === h.hold && l.err === 1));
      }
    },
  );
}

withDaemon(
  'files the run created never raise a hold (delay rule and bulk gate)',
  { extra: ['bulk\t50\t10000'] },
  async (e, d) => {
    fs.appendFileSync(e.table, `${delayRule(e, 2000)}\n`);
    reorder(e);
    const r = await bash(e, 'mkdir build && touch build/{1..100} && ln -s 1 build/link && rm -rf build');
    assert.equal(r.status, 0, r.stderr);
    assert.equal(fs.existsSync(join(e.ws, 'build')), false);
    assert.equal(d.holds.length, 0);
    assert.ok(r.ms < 1900, `no delay (${r.ms} ms)`);
  },
);

withDaemon(
  'an ask that times out takes its fallback once; the next identical event asks again',
  {},
  async (e, d) => {
    fs.writeFileSync(join(e.ws, 'guarded'), 'g');
    fs.appendFileSync(
      e.table,
      `rule\task-guarded\t20-ask\task\tdelete\tpath\t${e.ws}/guarded\ttimeout=300,fallback=deny\n`,
    );
    reorder(e);
    const r = await sh(e, 'rm -f guarded; rm -f guarded; echo done');
    assert.equal(r.stdout, 'done\n');
    assert.equal(fs.readFileSync(join(e.ws, 'guarded'), 'utf8'), 'g');
    assert.equal(d.holds.length, 2);
    const ev = evs(r.lines).filter((l) => l.path === join(e.ws, 'guarded'));
    assert.equal(ev.length, 2);
    for (const x of ev) {
      assert.equal(x.decision, 'deny');
      assert.equal(x.by, 'timeout');
      assert.equal(x.err, 1);
      assert.ok((x.held_ms ?? 0) >= 290);
    }
    assert.deepEqual(
      ev.map((x) => x.hold),
      d.holds.map((h) => h.hold),
    );
  },
);

withDaemon('a held delete in a background process does not stop the foreground writing', {}, async (e, d) => {
  fs.writeFileSync(join(e.ws, 'held'), 'h');
  fs.appendFileSync(e.table, `rule\task-held\t20-ask\task\tdelete\tpath\t${e.ws}/held\ttimeout=20000\n`);
  reorder(e);
  let written = -1;
  d.onHold = (h) => {
    // answer only once the foreground has written all its files (it must not be blocked by the hold)
    const t0 = Date.now();
    const poll = setInterval(() => {
      if (fs.existsSync(join(e.ws, 'w20')) || Date.now() - t0 > 10000) {
        clearInterval(poll);
        written = fs.readdirSync(e.ws).filter((n) => n.startsWith('w')).length;
        d.decide(h.hold, 'allow');
      }
    }, 20);
  };
  const r = await sh(e, 'rm held & i=1; while [ $i -le 20 ]; do echo x > w$i; i=$((i+1)); done; wait');
  assert.equal(r.status, 0, r.stderr);
  assert.equal(written, 20, 'all foreground writes completed while the delete was held');
  assert.equal(fs.existsSync(join(e.ws, 'held')), false);
  const ev = evs(r.lines).find((l) => l.path === join(e.ws, 'held'))!;
  assert.equal(ev.by, 'person');
  assert.equal(ev.decision, 'allow');
});

withDaemon(
  'no daemon socket: an ask takes its fallback at once',
  {},
  async (e) => {
    fs.writeFileSync(join(e.ws, 'guarded'), 'g');
    fs.appendFileSync(e.table, `rule\task-guarded\t20-ask\task\tdelete\tpath\t${e.ws}/guarded\n`);
    reorder(e);
    const r = await sh(e, 'rm guarded');
    assert.notEqual(r.status, 0);
    assert.ok(r.ms < 3000, `${r.ms} ms`);
    assert.equal(fs.existsSync(join(e.ws, 'guarded')), true);
    const ev = evs(r.lines).find((l) => l.path === join(e.ws, 'guarded'))!;
    assert.equal(ev.decision, 'deny');
    assert.equal(ev.by, 'no-daemon');
    assert.equal(ev.held, 'ask');
  },
  false,
);

withDaemon('steer: a delete lands in the trash with its bytes', {}, async (e, d) => {
  const trash = join(e.state, 'trash', '1');
  fs.mkdirSync(join(e.ws, 'soft'));
  fs.writeFileSync(join(e.ws, 'soft', 'f'), 'precious bytes\n');
  fs.appendFileSync(
    e.table,
    `trash\t${trash}\nrule\tsteer-soft\t30-steer\tsteer\tdelete\tpath\t${e.ws}/soft/**\n`,
  );
  reorder(e);
  const r = await sh(e, 'rm soft/f');
  assert.equal(r.status, 0, r.stderr);
  assert.equal(fs.existsSync(join(e.ws, 'soft', 'f')), false);
  const ev = evs(r.lines).find((l) => l.path === join(e.ws, 'soft', 'f'))!;
  assert.equal(ev.decision, 'steer');
  assert.equal(ev.steer, 'trash');
  assert.equal(ev.pre?.kind, 'link');
  assert.equal(ev.pre?.trash, join(trash, String(ev.seq)));
  assert.equal(fs.readFileSync(join(trash, String(ev.seq)), 'utf8'), 'precious bytes\n');
  assert.equal(d.holds.length, 0);
});

withDaemon('argv rule git … reset … --hard … holds a real git reset --hard', {}, async (e, d) => {
  const git = (...a: string[]) =>
    spawnSync('git', a, { cwd: e.ws, encoding: 'utf8', env: { PATH: '/usr/bin:/bin', HOME: e.home } });
  if (git('--version').status !== 0) return; // git is not installed
  git('init', '-q');
  fs.writeFileSync(join(e.ws, 'tracked'), 'committed\n');
  git('add', 'tracked');
  assert.equal(git('-c', 'user.name=t', '-c', 'user.email=t@t', 'commit', '-qm', 'c').status, 0);
  fs.writeFileSync(join(e.ws, 'tracked'), 'local edit\n');
  fs.appendFileSync(
    e.table,
    'rule\tgit-hard\t20-ask\task\texec\targv\tgit\\x1f**\\x1freset\\x1f**\\x1f--hard\\x1f**\n',
  );
  reorder(e);
  d.onHold = (h) => d.decide(h.hold, 'allow');
  const r = await runAsync(e, ['git', 'reset', '-q', '--hard']);
  assert.equal(r.status, 0, r.stderr);
  assert.equal(d.holds.length, 1);
  assert.deepEqual(d.holds[0]!.argv, ['git', 'reset', '-q', '--hard']);
  assert.equal(d.holds[0]!.op, 'exec');
  assert.equal(d.holds[0]!.rule, 'git-hard');
  assert.equal(fs.readFileSync(join(e.ws, 'tracked'), 'utf8'), 'committed\n');
  // a git command the rule does not name runs without a hold
  const r2 = await runAsync(e, ['git', 'status', '--short']);
  assert.equal(r2.status, 0, r2.stderr);
  assert.equal(d.holds.length, 1);
});

withDaemon('repeat: the 5th identical exec in a row asks', {}, async (e, d) => {
  d.onHold = (h) => d.decide(h.hold, 'allow');
  const r = await sh(e, '/bin/true; /bin/true; /bin/true; /bin/true; /bin/true; /bin/true; echo ok');
  assert.equal(r.stdout, 'ok\n');
  assert.equal(d.holds.length, 1);
  assert.equal(d.holds[0]!.reason, 'repeat');
  assert.deepEqual(d.holds[0]!.argv, ['/bin/true']);
  const execs = evs(r.lines).filter((l) => l.op === 'exec' && l.argv?.[0] === '/bin/true');
  assert.equal(execs.length, 6);
  assert.equal(execs[4]!.hold, d.holds[0]!.hold);
  assert.equal(execs[4]!.by, 'person');
});

withDaemon(
  'run scope: decide allow scope run answers later events of that rule without asking',
  {},
  async (e, d) => {
    files(join(e.ws, 'g'), 5);
    fs.appendFileSync(e.table, `rule\task-g\t20-ask\task\tdelete\tpath\t${e.ws}/g/*\n`);
    reorder(e);
    d.onHold = (h) => d.decide(h.hold, 'allow', 'run');
    const r = await sh(e, 'for f in g/*; do rm $f; done');
    assert.equal(r.status, 0, r.stderr);
    assert.equal(fs.readdirSync(join(e.ws, 'g')).length, 0);
    assert.equal(d.holds.length, 1);
    const dels = evs(r.lines).filter((l) => l.op === 'delete');
    assert.equal(dels.filter((l) => l.by === 'policy' && l.hold === d.holds[0]!.hold).length, 4);
  },
);

withDaemon('malformed daemon lines are faults; the hold still gets its one answer', {}, async (e, d) => {
  fs.writeFileSync(join(e.ws, 'guarded'), 'g');
  fs.appendFileSync(
    e.table,
    `rule\task-guarded\t20-ask\task\tdelete\tpath\t${e.ws}/guarded\ttimeout=10000\n`,
  );
  reorder(e);
  d.onHold = (h) => {
    d.send('not json\n');
    d.send(
      JSON.stringify({ t: 'decide', hold: h.hold, decision: 'maybe', scope: 'once', by: 'person' }) + '\n',
    );
    d.send(
      JSON.stringify({ t: 'decide', hold: h.hold, decision: 'allow', scope: 'once', by: 'person', x: 1 }) +
        '\n',
    );
    d.send(JSON.stringify({ t: 'decide', hold: 999, decision: 'allow', scope: 'once', by: 'person' }) + '\n');
    // half a line, then the rest
    const ok =
      JSON.stringify({ t: 'decide', hold: h.hold, decision: 'allow', scope: 'once', by: 'person' }) + '\n';
    d.send(ok.slice(0, 10));
    setTimeout(() => d.send(ok.slice(10)), 50);
  };
  const r = await sh(e, 'rm guarded');
  assert.equal(r.status, 0, r.stderr);
  assert.equal(fs.existsSync(join(e.ws, 'guarded')), false);
  assert.equal(r.lines.filter((l) => l.t === 'fault' && /invalid message/.test(l.what ?? '')).length, 3);
  const ev = evs(r.lines).filter((l) => l.path === join(e.ws, 'guarded'));
  assert.equal(ev.length, 1);
  assert.equal(ev[0]!.by, 'person');
});

withDaemon(
  'the daemon goes away mid-hold and does not come back: the ask waits for its deadline, then its fallback',
  {},
  async (e, d) => {
    fs.writeFileSync(join(e.ws, 'guarded'), 'g');
    fs.appendFileSync(
      e.table,
      `rule\task-guarded\t20-ask\task\tdelete\tpath\t${e.ws}/guarded\ttimeout=2500\n`,
    );
    reorder(e);
    // the whole daemon disappears (listener closed, socket file gone), not only the connection
    d.onHold = () => setTimeout(() => void d.close().then(() => fs.rmSync(e.socket, { force: true })), 100);
    const r = await sh(e, 'rm guarded');
    assert.notEqual(r.status, 0);
    // the helper kept the hold for a daemon to come back (reconnect attempts meanwhile), until its deadline
    assert.ok(r.ms >= 2300 && r.ms < 8000, `${r.ms} ms`);
    assert.equal(fs.existsSync(join(e.ws, 'guarded')), true);
    const ev = evs(r.lines).find((l) => l.path === join(e.ws, 'guarded'))!;
    assert.equal(ev.by, 'no-daemon');
    assert.equal(ev.decision, 'deny');
    assert.equal(d.holds.length, 1);
  },
);

for (const decision of ['allow', 'deny'] as const) {
  withDaemon(
    `the daemon restarts mid-hold: the helper reconnects, re-sends hello and the hold, the new daemon's ${decision} applies`,
    {},
    async (e, d) => {
      fs.writeFileSync(join(e.ws, 'guarded'), 'g');
      fs.appendFileSync(
        e.table,
        `rule\task-guarded\t20-ask\task\tdelete\tpath\t${e.ws}/guarded\ttimeout=20000\n`,
      );
      reorder(e);
      const second = new FakeDaemon(e.socket);
      let restarted = 0;
      second.onHold = (h) => setTimeout(() => second.decide(h.hold, decision), 50);
      d.onHold = () =>
        setTimeout(async () => {
          await d.close();
          fs.rmSync(e.socket, { force: true });
          await new Promise((res) => setTimeout(res, 400)); // the helper retries meanwhile
          await second.listen();
          restarted = Date.now();
        }, 100);
      try {
        const r = await sh(e, 'rm guarded; echo rc=$?');
        const first = d.holds[0]!;
        const again = second.holds[0];
        assert.ok(again, `the hold reached the new daemon: ${r.stderr}`);
        assert.deepEqual(second.hello, { t: 'hello', run: 1 });
        assert.equal(second.msgs[0]!.t, 'hello', 'hello comes first on the new connection');
        assert.equal(again.hold, first.hold);
        assert.equal(again.seq, first.seq);
        assert.equal(again.deadline_ms, first.deadline_ms, 'the original deadline travels with it');
        assert.equal(again.path, join(e.ws, 'guarded'));
        // reconnect backoff is capped at 1 s: the hold is back soon after the daemon is
        assert.ok(second.arrivals[0]! - restarted < 1500, `${second.arrivals[0]! - restarted} ms`);
        assert.equal(fs.existsSync(join(e.ws, 'guarded')), decision === 'deny');
        assert.equal(r.stdout, decision === 'allow' ? 'rc=0\n' : 'rc=1\n');
        const ev = evs(r.lines).filter((l) => l.path === join(e.ws, 'guarded'));
        assert.equal(ev.length, 1, 'one answer, one ev line');
        assert.equal(ev[0]!.by, 'person');
        assert.equal(ev[0]!.decision, decision);
        assert.equal(ev[0]!.hold, first.hold);
        assert.deepEqual(second.resolved(), [{ t: 'resolved', hold: first.hold, decision, by: 'person' }]);
      } finally {
        await second.close();
      }
    },
  );
}

withDaemon('the held process is killed: the hold is dropped with err ESRCH', {}, async (e, d) => {
  fs.writeFileSync(join(e.ws, 'guarded'), 'g');
  fs.appendFileSync(
    e.table,
    `rule\task-guarded\t20-ask\task\tdelete\tpath\t${e.ws}/guarded\ttimeout=20000\n`,
  );
  reorder(e);
  d.onHold = (h) => {
    process.kill(h.pid, 'SIGKILL');
    setTimeout(() => d.decide(h.hold, 'allow'), 200);
  };
  const r = await sh(e, 'rm guarded; echo survived');
  assert.equal(r.stdout, 'survived\n');
  assert.equal(fs.existsSync(join(e.ws, 'guarded')), true);
  const ev = evs(r.lines).find((l) => l.path === join(e.ws, 'guarded'))!;
  assert.equal(ev.err, 3); // ESRCH
});

withDaemon('hold overhead: trapped unlink to hold line at the daemon (median of 300)', {}, async (e, d) => {
  const dir = join(e.ws, 'o');
  files(dir, 300);
  fs.appendFileSync(e.table, `rule\task-o\t20-ask\task\tdelete\tpath\t${dir}/*\n`);
  reorder(e);
  d.onHold = (h) => d.decide(h.hold, 'allow');
  // the agent prints CLOCK_REALTIME (ns) taken right before each unlink; paired in order with the arrivals
  const script =
    'import os, sys, time\nd = sys.argv[1]\nout = []\nfor i in range(300):\n    p = os.path.join(d, "f%d" % i)\n    out.append(time.time_ns())\n    os.unlink(p)\nprint("\\n".join(map(str, out)))\n';
  const r = await runAsync(e, [python, '-c', script, dir], 60000);
  assert.equal(r.status, 0, r.stderr);
  const starts = r.stdout
    .trim()
    .split('\n')
    .map((x) => Number(BigInt(x) / 1000n) / 1000);
  assert.equal(starts.length, 300);
  assert.equal(d.arrivals.length, 300);
  const lat = d.arrivals.map((a, i) => a - starts[i]!).sort((a, b) => a - b);
  const median = lat[150]!;
  console.log(
    `hold overhead: median ${median.toFixed(3)} ms, p10 ${lat[30]!.toFixed(3)}, p90 ${lat[270]!.toFixed(3)} ms`,
  );
  assert.ok(median < 50, `median ${median} ms`);
});

withDaemon('ask on create, write, rename and mkdir: each held op runs after approval', {}, async (e, d) => {
  fs.mkdirSync(join(e.ws, 'q'));
  fs.appendFileSync(
    e.table,
    `rule\task-q\t20-ask\task\twrite,create,rename,mkdir,chmod\tpath\t${e.ws}/q/**\ttimeout=10000\n`,
  );
  reorder(e);
  d.onHold = (h) => setTimeout(() => d.decide(h.hold, 'allow'), 20);
  const r = await sh(
    e,
    'echo x > q/a && mv q/a q/b && mkdir q/d && echo y > q/b && chmod 600 q/b && cat q/b',
  );
  assert.equal(r.status, 0, r.stderr);
  assert.equal(r.stdout, 'y\n');
  assert.deepEqual(
    d.holds.map((h) => [h.op, h.path.slice(e.ws.length)]),
    [
      ['create', '/q/a'],
      ['rename', '/q/a'],
      ['mkdir', '/q/d'],
      ['write', '/q/b'],
      ['chmod', '/q/b'],
    ],
  );
  assert.equal(fs.statSync(join(e.ws, 'q', 'b')).mode & 0o777, 0o600);
  const w = evs(r.lines).find((l) => l.op === 'write' && l.path === join(e.ws, 'q', 'b'))!;
  assert.equal(w.pre?.kind, 'copy');
  assert.equal(fs.readFileSync(join(e.stage, String(w.seq)), 'utf8'), 'x\n');
  assert.ok(
    evs(r.lines)
      .filter((l) => l.path?.startsWith(join(e.ws, 'q')))
      .every((l) => l.by === 'person'),
  );
});

withDaemon(
  'a daemon that stops reading: hold/resolved lines are buffered, none torn or lost',
  { extra: noGate },
  async (e, d) => {
    const dir = join(e.ws, 'p');
    files(dir, 3000);
    fs.appendFileSync(
      e.table,
      `rule\task-p\t20-ask\task\tdelete\tpath\t${dir}/*\ttimeout=0,fallback=allow\n`,
    );
    reorder(e);
    // stop reading as soon as the hello is in; resume after 1.5 s (the helper must not block meanwhile)
    const paused = new Promise<void>((res) => {
      const t = setInterval(() => {
        if (d.conns.length) {
          clearInterval(t);
          d.conns[0]!.pause();
          setTimeout(() => {
            d.conns[0]!.resume();
            res();
          }, 1500);
        }
      }, 1);
    });
    const script =
      'import os, sys\nd = sys.argv[1]\nfor n in sorted(os.listdir(d)):\n    os.unlink(os.path.join(d, n))\n';
    const r = await runAsync(e, [python, '-c', script, dir], 60000);
    await paused;
    await new Promise((res) => setTimeout(res, 300));
    assert.equal(r.status, 0, r.stderr);
    assert.equal(fs.readdirSync(dir).length, 0);
    assert.equal(d.holds.length, 3000);
    assert.deepEqual(
      d.holds.map((h) => h.hold),
      Array.from({ length: 3000 }, (_, i) => i + 1),
    );
    assert.equal(d.resolved().length, 3000);
  },
);

withDaemon(
  'a held path that vanished meanwhile still gets its one ev line (err ENOENT)',
  {},
  async (e, d) => {
    fs.mkdirSync(join(e.ws, 'v'));
    fs.writeFileSync(join(e.ws, 'v', 'f'), 'f');
    fs.appendFileSync(e.table, `rule\task-v\t20-ask\task\tdelete\tpath\t${e.ws}/v/f\ttimeout=10000\n`);
    reorder(e);
    d.onHold = (h) => {
      fs.rmSync(join(e.ws, 'v'), { recursive: true }); // behind the agent's back
      d.decide(h.hold, 'allow');
    };
    const r = await sh(e, 'rm v/f; echo $?');
    assert.equal(r.stdout, '1\n');
    const ev = evs(r.lines).filter((l) => l.path === join(e.ws, 'v', 'f'));
    assert.equal(ev.length, 1);
    assert.equal(ev[0]!.err, 2);
    assert.equal(ev[0]!.hold, d.holds[0]!.hold);
  },
);
