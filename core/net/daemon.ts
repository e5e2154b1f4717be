/**
 * The daemon side of the egress proxy (issue 6): for a run started with `net: isolated`, an EgressProxy on
 * `<state>/net/<run>.sock` (0600, dir 0700) that warden-netns forwards to 127.0.0.1:{@link PROXY_PORT} inside the
 * run's network namespace, the proxy environment for the run, policy decisions with `ask` held through the
 * HoldManager (op `connect`), and one journaled `connect` event per connection with bytes up and down.
 */
import { chmodSync, mkdirSync, readdirSync, readFileSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { z } from 'zod';
import type { DaemonExtensionFactory, RunContext, RunSetup } from '../daemon/extension.js';
import type { Service } from '../daemon/service.js';
import { policyFiles } from '../daemon/service.js';
import { WardenError } from '../util/errors.js';
import { EgressProxy, type ConnectionRecord } from './proxy.js';
import { HostResolver } from './resolve.js';
import { decideConnect, loadNetworkPolicy } from './rules.js';
import { ConnectGate } from './gate.js';
import { SecretWatch } from './secrets.js';
import { NET_SEQ_BASE, PROXY_PORT, proxyEnv } from './env.js';

export { NET_SEQ_BASE, PROXY_PORT, proxyEnv };

/** Longest unix socket path (sockaddr_un.sun_path is 108 bytes with the NUL). */
const SUN_PATH_MAX = 107;

interface RunProxy {
  proxy: EgressProxy;
  gate: ConnectGate;
  socket: string;
  /** Inode of the socket file this proxy listens on: only that file is ever removed by it. */
  ino: number;
  seq: number;
}

/** Inode of `path`, or 0 when it is missing. */
function inode(path: string): number {
  try {
    return statSync(path).ino;
  } catch {
    return 0;
  }
}

/** A run's context as runStart saved it (`<state>/net/<run>.json`), validated when a new daemon reads it. */
const savedContext = z.object({
  run: z.number().int().positive(),
  argv: z.array(z.string()),
  cwd: z.string().startsWith('/'),
  workspace: z.string().startsWith('/'),
  home: z.string().startsWith('/'),
  net: z.literal('isolated'),
  policies: z.array(z.string().startsWith('/')).optional(),
});

export const netExtension: DaemonExtensionFactory = async (service: Service) => {
  const dir = join(service.layout.dir, 'net');
  mkdirSync(dir, { recursive: true, mode: 0o700 });
  chmodSync(dir, 0o700);
  const resolver = new HostResolver(join(dir, 'hosts'));
  const runs = new Map<number, RunProxy>();

  const record = (run: number, r: RunProxy, c: ConnectionRecord) => {
    const row = service.journal.getRun(run);
    try {
      service.journal.insertNetEvent({
        runId: run, seq: NET_SEQ_BASE + ++r.seq, ts: c.startedAt, pid: row?.rootPid ?? 0, tid: 0,
        op: 'connect', sys: c.method, path: `${c.host}:${c.port}`, path2: null, flags: null,
        decision: c.decision, ruleId: c.ruleId, band: c.band, errno: c.errno, pre: null, preSha: null,
        pre2: null, argv: null, holdId: c.holdId ?? null, holdBy: c.holdBy ?? null, heldMs: c.heldMs ?? null,
        bytesUp: c.bytesUp, bytesDown: c.bytesDown,
      }); // prettier-ignore
    } catch (err) {
      service.log(`daemon: net: journaling a connection of run ${run} failed: ${(err as Error).message}`);
    }
  };

  /** Starts the proxy of an isolated run (at its start, or again after a daemon restart). */
  const startProxy = async (ctx: RunContext): Promise<string> => {
    const socket = join(dir, `${ctx.run}.sock`);
    if (Buffer.byteLength(socket) > SUN_PATH_MAX)
      throw new WardenError(
        'state-path-too-long',
        `the proxy socket ${socket} is longer than ${SUN_PATH_MAX} bytes (a unix socket limit): use a shorter --state dir, or --net host`,
        2,
      );
    const policy = loadNetworkPolicy(policyFiles(service.layout, ctx.policies ?? []));
    const secrets = new SecretWatch(service, ctx.run, ctx.home, ctx.cwd);
    const gate = new ConnectGate(service, ctx.run, policy, secrets);
    // after a daemon restart the run may have connect events already: continue their seq range
    const seq = Math.max(0, service.journal.maxSeq(ctx.run) - NET_SEQ_BASE);
    const r: RunProxy = { proxy: null as unknown as EgressProxy, gate, socket, ino: 0, seq };
    r.proxy = new EgressProxy({
      gate: (host, port, method) => gate.decide(host, port, method),
      resolve: (host) => resolver.resolve(host),
      record: (c) => record(ctx.run, r, c),
      log: service.log,
    });
    await r.proxy.listen(socket);
    r.ino = inode(socket);
    runs.set(ctx.run, r);
    return socket;
  };

  /**
   * Stops a run's proxy. Its socket file is removed only if it is still the one this proxy bound (never
   * another daemon's); `ended`: the run is over, so its saved context goes too (else a later daemon may serve
   * the proxy again).
   */
  const stopProxy = async (run: number, ended: boolean) => {
    const r = runs.get(run);
    if (!r) return;
    runs.delete(run);
    r.gate.endAll();
    await r.proxy.close();
    if (inode(r.socket) === r.ino) rmSync(r.socket, { force: true });
    if (ended) rmSync(join(dir, `${run}.json`), { force: true });
  };

  const runStart = async (ctx: RunContext): Promise<RunSetup> => {
    if (ctx.net !== 'isolated') return {};
    const socket = await startProxy(ctx);
    // kept so that a daemon started while the run goes on can serve its proxy again (recoverProxies)
    writeFileSync(join(dir, `${ctx.run}.json`), JSON.stringify(ctx), { mode: 0o600 });
    return { env: proxyEnv(), forwards: [{ port: PROXY_PORT, socket }] };
  };

  /**
   * Daemon start: the proxies of isolated runs still going on (journal status `running`, helper process alive)
   * are served again on their sockets, so a daemon restart does not cut a run's egress for good; leftovers of
   * ended runs are removed.
   */
  const recoverProxies = async () => {
    for (const name of readdirSync(dir)) {
      const m = /^(\d+)\.json$/.exec(name);
      if (!m) continue;
      const run = Number(m[1]);
      // a run this daemon started before recovery got to run (its helper may not have said hello yet, so
      // its pid is unknown): its proxy is live — never take it for a leftover
      if (runs.has(run)) continue;
      const row = service.journal.getRun(run);
      const alive = (pid: number | null) => {
        if (!pid) return false;
        try {
          process.kill(pid, 0);
          return true;
        } catch (err) {
          return (err as NodeJS.ErrnoException).code === 'EPERM';
        }
      };
      try {
        if (row?.status !== 'running' || !alive(row.helperPid)) throw new Error('the run is over');
        await startProxy(savedContext.parse(JSON.parse(readFileSync(join(dir, name), 'utf8'))));
        service.log(`daemon: net: serving the egress proxy of run ${run} again`);
      } catch (err) {
        rmSync(join(dir, name), { force: true });
        rmSync(join(dir, `${run}.sock`), { force: true });
        if ((err as Error).message !== 'the run is over')
          service.log(`daemon: net: cannot serve the proxy of run ${run} again: ${(err as Error).message}`);
      }
    }
  };
  // Only once this daemon has won the state dir (it writes daemon.pid after binding the control socket): two
  // daemons started at once (the CLI reviving one, a person starting one) must not both bind a run's proxy
  // socket. The timer is unref'd, so a daemon that lost exits as before.
  let waited = 0;
  const ownsState = setInterval(() => {
    let pid = 0;
    try {
      pid = Number(readFileSync(service.layout.daemonPid, 'utf8'));
    } catch {
      /* not written yet */
    }
    if (pid !== process.pid && ++waited < 400) return;
    clearInterval(ownsState);
    if (pid === process.pid)
      void recoverProxies().catch((e: Error) => service.log(`daemon: net: recovery failed: ${e.message}`));
  }, 25);
  ownsState.unref();

  const runEnd = (run: number) => stopProxy(run, true);

  return {
    name: 'net',
    handlers: {
      'net.rules': (p: { policies: string[] }) =>
        loadNetworkPolicy(policyFiles(service.layout, p.policies)).rules.map(
          ({ match: _m, ...rule }) => rule,
        ),
      'net.check': (p: { host: string; port: number; policies: string[] }) =>
        decideConnect(loadNetworkPolicy(policyFiles(service.layout, p.policies)), p.host, p.port),
    },
    runStart,
    runEnd,
    status: () => ({
      proxies: runs.size,
      activeConnections: [...runs.values()].reduce((n, r) => n + r.proxy.active, 0),
      port: PROXY_PORT,
    }),
    // the daemon stops, not the runs: a later daemon serves their proxies again (recoverProxies)
    close: async () => {
      clearInterval(ownsState);
      for (const run of [...runs.keys()]) await stopProxy(run, false);
    },
  };
};
