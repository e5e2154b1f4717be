/**
 * The daemon side of the egress proxy (issue 6): for a run started with `net: isolated`, an EgressProxy on
 * `<state>/net/<run>.sock` (0600, dir 0700) that warden-netns forwards to 127.0.0.1:{@link PROXY_PORT} inside the
 * run's network namespace, the proxy environment for the run, policy decisions with `ask` held through the
 * HoldManager (op `connect`), and one journaled `connect` event per connection with bytes up and down.
 */
import { chmodSync, mkdirSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { z } from 'zod';
import type { DaemonExtensionFactory, RunContext, RunSetup } from '../daemon/extension.js';
import type { Service } from '../daemon/service.js';
import { policyFiles } from '../daemon/service.js';
import { HostResolver } from './resolve.js';
import { decideConnect, loadNetworkPolicy } from './rules.js';
import { NET_SEQ_BASE, PROXY_PORT, proxyEnv } from './env.js';
import { startRunProxy, stopRunProxy, type RunProxy } from './serve.js';

export { NET_SEQ_BASE, PROXY_PORT, proxyEnv };

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

  /** Starts the proxy of an isolated run (at its start, or again after a daemon restart). */
  const startProxy = async (ctx: RunContext): Promise<string> => {
    const r = await startRunProxy(service, resolver, ctx, join(dir, `${ctx.run}.sock`));
    runs.set(ctx.run, r);
    return r.socket;
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
    await stopRunProxy(r);
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
