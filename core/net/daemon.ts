/**
 * The daemon side of the egress proxy (issue 6): for a run started with `net: isolated`, an EgressProxy on
 * `<state>/net/<run>.sock` (0600, dir 0700) that warden-netns forwards to 127.0.0.1:{@link PROXY_PORT} inside the
 * run's network namespace, the proxy environment for the run, policy decisions with `ask` held through the
 * HoldManager (op `connect`), and one journaled `connect` event per connection with bytes up and down.
 */
import { chmodSync, mkdirSync, rmSync } from 'node:fs';
import { join } from 'node:path';
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
  seq: number;
}

export const netExtension: DaemonExtensionFactory = (service: Service) => {
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

  const runStart = async (ctx: RunContext): Promise<RunSetup> => {
    if (ctx.net !== 'isolated') return {};
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
    const r: RunProxy = { proxy: null as unknown as EgressProxy, gate, socket, seq: 0 };
    r.proxy = new EgressProxy({
      gate: (host, port, method) => gate.decide(host, port, method),
      resolve: (host) => resolver.resolve(host),
      record: (c) => record(ctx.run, r, c),
      log: service.log,
    });
    await r.proxy.listen(socket);
    runs.set(ctx.run, r);
    return { env: proxyEnv(), forwards: [{ port: PROXY_PORT, socket }] };
  };

  const runEnd = async (run: number) => {
    const r = runs.get(run);
    if (!r) return;
    runs.delete(run);
    r.gate.endAll();
    await r.proxy.close();
    rmSync(r.socket, { force: true });
  };

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
    close: async () => {
      for (const run of [...runs.keys()]) await runEnd(run);
    },
  };
};
