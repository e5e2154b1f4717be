/**
 * The daemon side of system-wide watch mode (issue 7; helper/linux/WIRE.md §4). The daemon connects to the
 * root helper's socket (`$WARDEN_WATCH_SOCKET`, default /run/warden/watch.sock), says which state dir is its
 * own, and from then on:
 *
 * - creates a journal run for each agent tree the helper reports (`tree`), ingests the tree's event log from
 *   `<state>/watch/<tree>/` on every wake-up and ends the run when the tree exits — so `warden runs`, `warden
 *   log` and `warden rollback` treat a watched agent like a supervised one;
 * - puts the bulk-delete gate's holds into the hold queue (and sends the answers back);
 * - watches the helper's health, because fanotify fails open: a lost connection, a heartbeat older than
 *   `staleMs`, or a canary write (a `touch` of the canary file every `canaryMs`) the helper did not report
 *   within `canaryMs` is a fault, logged, journaled on every watched run in progress and shown by `status()`.
 */
import { spawn } from 'node:child_process';
import {
  closeSync,
  existsSync,
  lstatSync,
  mkdirSync,
  openSync,
  readFileSync,
  readSync,
  readdirSync,
  writeFileSync,
} from 'node:fs';
import { connect, type Socket } from 'node:net';
import { homedir } from 'node:os';
import { join } from 'node:path';
import type { DaemonExtension, DaemonExtensionFactory } from '../daemon/extension.js';
import type { Service } from '../daemon/service.js';
import { ingestRun } from '../journal/ingest.js';
import { HostResolver } from '../net/resolve.js';
import { startRunProxy, stopRunProxy, type RunProxy } from '../net/serve.js';
import { errorMessage } from '../util/errors.js';
import { parseEventLine, type StartLine } from '../wire/events.js';
import { parseHelperLine, type HelloLine, type TreeLine } from './protocol.js';

import { DEFAULT_WATCH_SOCKET } from './socket.js';
export { DEFAULT_WATCH_SOCKET };

/** Health check timings (ms). Tests shorten them through the environment. */
export interface WatchTimings {
  /** A heartbeat older than this is a fault (the helper sends one per second). */
  staleMs: number;
  /** Canary period; a canary not reported within it is a fault. */
  canaryMs: number;
  /** Reconnect attempt period while the helper is not connected. */
  retryMs: number;
}

function timingsFromEnv(env: NodeJS.ProcessEnv): WatchTimings {
  const n = (v: string | undefined, d: number) => (v && /^\d+$/.test(v) ? Number(v) : d);
  return {
    staleMs: n(env.WARDEN_WATCH_STALE_MS, 3000),
    canaryMs: n(env.WARDEN_WATCH_CANARY_MS, 5000),
    retryMs: n(env.WARDEN_WATCH_RETRY_MS, 1000),
  };
}

/**
 * What a tree's log says about its start (the `start` line's root pid and watched root, the root process's
 * first `proc` line): for trees logged while no daemon was connected. Reads at most the first 64 KiB.
 */
function treeFromLog(path: string, key: string): TreeLine | null {
  let head: string;
  try {
    const fd = openSync(path, 'r');
    const buf = Buffer.alloc(65536);
    const n = readSync(fd, buf, 0, buf.length, 0);
    closeSync(fd);
    head = buf.toString('utf8', 0, n);
  } catch {
    return null;
  }
  let start: StartLine | null = null;
  for (const line of head.split('\n').slice(0, 50)) {
    let l;
    try {
      l = parseEventLine(line);
    } catch {
      continue;
    }
    if (l.t === 'start') start = l;
    else if (l.t === 'proc' && start && l.pid === start.pid) {
      const root = (start as { root?: unknown }).root;
      return {
        t: 'tree',
        tree: key,
        pid: l.pid,
        ts: start.ts,
        argv: l.argv,
        cwd: typeof l.cwd === 'string' ? l.cwd : null,
        root: typeof root === 'string' ? root : ((l.cwd as string | null) ?? '/'),
        journaled: 1,
      };
    }
  }
  return null;
}

interface Fault {
  ts: number;
  what: string;
}

/** The watch area of one daemon. */
export class WatchArea {
  private sock: Socket | null = null;
  private hello: HelloLine | null = null;
  private everConnected = false;
  private lastHb = 0;
  private hb: Record<string, number> = {};
  private fault: Fault | null = null;
  private faults: Fault[] = [];
  private trees = new Map<string, number>();
  private running = new Set<number>();
  private ingestQueued = new Set<string>();
  private canary: { pid: number; sentAt: number; seenAt: number | null } | null = null;
  private canaryOk: number | null = null;
  private timers: NodeJS.Timeout[] = [];
  private closed = false;
  /** Egress proxies of watched runs in progress, by tree key (WIRE.md §5.2). */
  private proxies = new Map<string, Promise<RunProxy | null>>();
  private readonly resolver: HostResolver;
  readonly spool: string;

  constructor(
    private readonly service: Service,
    readonly socketPath: string,
    readonly timings: WatchTimings,
  ) {
    this.spool = join(service.layout.dir, 'watch');
    this.resolver = new HostResolver(join(service.layout.dir, 'net', 'hosts'));
  }

  /** Recovers spooled trees, connects, and starts the health timers. */
  start(): this {
    mkdirSync(this.spool, { recursive: true, mode: 0o700 });
    this.recover();
    this.tryConnect();
    const tick = setInterval(() => this.tick(), Math.min(500, this.timings.retryMs));
    tick.unref();
    this.timers.push(tick);
    return this;
  }

  /** Ingests every spooled tree (also those logged while no daemon was connected). */
  private recover(): void {
    let keys: string[] = [];
    try {
      keys = readdirSync(this.spool).filter((k) => /^\d+-\d+$/.test(k));
    } catch {
      return;
    }
    for (const k of keys) {
      const run = this.runOf(k, null);
      if (run !== null) this.ingest(k);
    }
  }

  /** The run of tree `key`: from memory, from `<spool>/<key>/run`, or a new run (when `t` is given). */
  private runOf(key: string, t: TreeLine | null): number | null {
    const known = this.trees.get(key);
    if (known !== undefined) return known;
    const dir = join(this.spool, key);
    const file = join(dir, 'run');
    let run: number | null = null;
    if (existsSync(file)) {
      const n = Number(readFileSync(file, 'utf8').trim());
      if (Number.isSafeInteger(n) && n > 0 && this.service.journal.getRun(n)) run = n;
    }
    if (run === null) {
      if (!existsSync(join(dir, 'events.ndjson'))) return null;
      t ??= treeFromLog(join(dir, 'events.ndjson'), key);
      const argv = t?.argv ?? [];
      run = this.service.journal.createRun({
        argv: argv.length > 0 ? argv : [`(watched agent tree ${key})`],
        cwd: t?.cwd ?? undefined,
        workspace: t?.root,
        startedAt: t?.ts,
      });
      writeFileSync(file, `${run}\n`, { mode: 0o600 });
      this.service.log(`watch: run ${run} for agent tree ${key} (${argv.join(' ')})`);
    }
    this.trees.set(key, run);
    const row = this.service.journal.getRun(run);
    if (row?.status === 'running') {
      this.running.add(run);
      this.service.holds.attach(run, (line) => this.sendDecide(key, line));
      this.startProxy(key, run, t?.cwd ?? row.cwd ?? homedir());
    }
    return run;
  }

  /**
   * Serves the egress proxy of a watched run on `<state>/net/watch-<key>.sock`, where warden-watch's relay
   * brings the agent tree's steered TCP connections (helper/linux/watch/egress.c). A failure is logged and
   * journaled as a fault: the helper then closes that tree's connections (egress fails closed).
   */
  private startProxy(key: string, run: number, cwd: string): void {
    if (this.proxies.has(key) || this.closed) return;
    const dir = join(this.service.layout.dir, 'net');
    mkdirSync(dir, { recursive: true, mode: 0o700 });
    const p =
      startRunProxy(this.service, this.resolver, { run, home: homedir(), cwd }, join(dir, `watch-${key}.sock`), true) // prettier-ignore
        .catch((err: unknown) => {
          const what = `egress proxy of run ${run} (agent tree ${key}) not started: ${errorMessage(err)}`;
          this.service.log(`watch: ${what}`);
          this.service.journal.insertFault(run, Date.now(), `watch mode: ${what}`);
          return null;
        });
    this.proxies.set(key, p);
  }

  private stopProxy(key: string): void {
    const p = this.proxies.get(key);
    if (!p) return;
    this.proxies.delete(key);
    void p.then((r) => r && stopRunProxy(r)).catch(() => {});
  }

  private ingest(key: string): void {
    const run = this.trees.get(key);
    if (run === undefined) return;
    const dir = join(this.spool, key);
    ingestRun(this.service.journal, this.service.blobs, {
      runId: run,
      eventsPath: join(dir, 'events.ndjson'),
      stageDir: join(dir, 'stage'),
    });
    const row = this.service.journal.getRun(run);
    if (row && row.status !== 'running' && this.running.delete(run)) {
      this.stopProxy(key);
      this.service.holds.detach(run);
      this.service.holds.push({ type: 'run.ended', run });
      this.service.log(`watch: run ${run} (agent tree ${key}) ended`);
    }
  }

  private ingestSoon(key: string): void {
    if (this.ingestQueued.has(key)) return;
    this.ingestQueued.add(key);
    setImmediate(() => {
      this.ingestQueued.delete(key);
      try {
        this.ingest(key);
      } catch (err) {
        this.service.log(`watch: ingest of agent tree ${key} failed: ${errorMessage(err)}`);
      }
    });
  }

  private sendDecide(key: string, line: string): void {
    const m = JSON.parse(line) as Record<string, unknown>;
    this.sock?.write(JSON.stringify({ ...m, tree: key }) + '\n');
  }

  private tryConnect(): void {
    if (this.sock || this.closed) return;
    if (!existsSync(this.socketPath)) return;
    // Only a root-owned socket speaks for the root helper (another user could bind one at a path it controls).
    const st = lstatSync(this.socketPath);
    if (st.uid !== 0 || !st.isSocket()) {
      this.setFault(`watch helper socket ${this.socketPath} is not a socket owned by root: not used`);
      return;
    }
    const s = connect(this.socketPath);
    this.sock = s;
    let buf = '';
    s.setEncoding('utf8');
    s.on('connect', () => {
      s.write(JSON.stringify({ t: 'hello', state: this.service.layout.dir }) + '\n');
    });
    s.on('data', (d: string) => {
      buf += d;
      let nl: number;
      while ((nl = buf.indexOf('\n')) >= 0) {
        const line = buf.slice(0, nl);
        buf = buf.slice(nl + 1);
        if (line) this.onLine(line);
      }
    });
    s.on('error', () => {});
    s.on('close', () => {
      this.sock = null;
      if (this.hello && !this.closed)
        this.setFault(`watch helper (pid ${this.hello.helper_pid}) disconnected: agents are not guarded`);
      this.hello = null;
      this.canary = null;
    });
  }

  private onLine(line: string): void {
    let m;
    try {
      m = parseHelperLine(line);
    } catch (err) {
      this.service.log(`watch: ${errorMessage(err)}`);
      return;
    }
    switch (m.t) {
      case 'hello':
        this.hello = m;
        this.everConnected = true;
        this.lastHb = Date.now();
        this.clearFault('helper connected');
        this.service.log(`watch: connected to helper pid ${m.helper_pid}; roots ${m.roots.join(', ')}`);
        return;
      case 'hb':
        this.lastHb = Date.now();
        this.hb = {
          trees: m.trees,
          permEvents: m.perm_events,
          permAgent: m.perm_agent,
          nameEvents: m.name_events,
          shadowFiles: m.shadow_files,
        };
        if (this.fault?.what.includes('heartbeat')) this.clearFault('heartbeat back');
        return;
      case 'tree': {
        if (!m.journaled) {
          this.service.log(`watch: agent tree ${m.tree} (pid ${m.pid}) is not journaled by the helper`);
          return;
        }
        const fresh = !this.trees.has(m.tree);
        const run = this.runOf(m.tree, m);
        if (run !== null && fresh) this.service.holds.push({ type: 'run.started', run });
        this.ingestSoon(m.tree);
        return;
      }
      case 'wake':
      case 'ended':
        if (!this.trees.has(m.tree)) this.runOf(m.tree, null);
        this.ingestSoon(m.tree);
        return;
      case 'canary':
        if (this.canary && this.canary.pid === m.pid) {
          this.canary.seenAt = Date.now();
          this.canaryOk = Date.now();
          if (this.fault?.what.includes('canary')) this.clearFault('canary seen again');
        }
        return;
      case 'hold':
      case 'resolved': {
        const run = this.runOf(m.tree, null);
        if (run === null) return;
        this.ingest(m.tree);
        const { tree: _tree, ...wire } = m;
        try {
          this.service.holds.onHelperLine(run, JSON.stringify(wire));
        } catch (err) {
          this.service.log(`watch: bad hold line for run ${run}: ${errorMessage(err)}`);
        }
        return;
      }
    }
  }

  private tick(): void {
    const now = Date.now();
    if (!this.sock) {
      this.tryConnect();
      return;
    }
    if (!this.hello) return;
    if (now - this.lastHb > this.timings.staleMs)
      this.setFault(`watch helper heartbeat missing for ${now - this.lastHb} ms: the helper is stuck`);
    const c = this.canary;
    if (c && c.seenAt === null && now - c.sentAt > this.timings.canaryMs)
      this.setFault(
        `canary write at ${this.hello.canary} was not seen by the helper: fanotify is not enforcing`,
      );
    if (!c || now - c.sentAt >= this.timings.canaryMs) this.sendCanary();
  }

  /** A short-lived process (not an agent) writes the canary file; the helper must report it. */
  private sendCanary(): void {
    const path = this.hello?.canary;
    if (!path) return;
    const child = spawn('touch', [path], { stdio: 'ignore' });
    child.on('error', (err) => this.service.log(`watch: canary process failed: ${err.message}`));
    if (child.pid) this.canary = { pid: child.pid, sentAt: Date.now(), seenAt: null };
  }

  private setFault(what: string): void {
    if (this.fault?.what === what) return;
    const f = { ts: Date.now(), what };
    this.fault = f;
    this.faults.push(f);
    if (this.faults.length > 20) this.faults.shift();
    this.service.log(`watch: FAULT: ${what}`);
    for (const run of this.running) this.service.journal.insertFault(run, f.ts, `watch mode: ${what}`);
  }

  private clearFault(why: string): void {
    if (!this.fault) return;
    this.service.log(`watch: fault cleared (${why})`);
    this.fault = null;
  }

  /** What `status.extensions.watch` and `watch.status` show. */
  status(): Record<string, unknown> {
    return {
      socket: this.socketPath,
      connected: this.hello !== null,
      helperPid: this.hello?.helper_pid ?? null,
      roots: this.hello?.roots ?? [],
      mechanisms: this.hello?.mech ?? null,
      lastHeartbeat: this.lastHb || null,
      counters: this.hb,
      canary: { path: this.hello?.canary ?? null, lastOk: this.canaryOk },
      ok: this.fault === null && (this.hello !== null || !this.everConnected),
      fault: this.fault,
      recentFaults: this.faults,
      runsInProgress: [...this.running],
    };
  }

  /** True while watched runs are in progress: the daemon must not exit idle under them. */
  busy(): boolean {
    return this.running.size > 0;
  }

  close(): void {
    this.closed = true;
    for (const t of this.timers) clearInterval(t);
    this.sock?.destroy();
    for (const key of [...this.proxies.keys()]) this.stopProxy(key);
  }
}

/** The watch area as a daemon extension. */
export const watchExtension: DaemonExtensionFactory = (service: Service): DaemonExtension => {
  const area = new WatchArea(
    service,
    process.env.WARDEN_WATCH_SOCKET || DEFAULT_WATCH_SOCKET,
    timingsFromEnv(process.env),
  ).start();
  return {
    name: 'watch',
    handlers: { 'watch.status': () => area.status() },
    status: () => area.status(),
    busy: () => area.busy(),
    close: () => area.close(),
  };
};
