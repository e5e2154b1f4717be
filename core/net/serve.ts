/**
 * One run's egress proxy as the daemon serves it: an EgressProxy on a unix socket, decisions through the run's
 * ConnectGate (policy, holds, secret-read escalation), one journaled `connect` event per connection with bytes
 * up and down. Used for `warden run --net isolated` (core/net/daemon.ts) and for watched agent trees, whose
 * connections warden-watch steers in (core/watch/daemon.ts; `transparent`).
 */
import { rmSync, statSync } from 'node:fs';
import type { RunContext } from '../daemon/extension.js';
import type { Service } from '../daemon/service.js';
import { policyFiles } from '../daemon/service.js';
import { WardenError } from '../util/errors.js';
import { EgressProxy, type ConnectionRecord } from './proxy.js';
import type { HostResolver } from './resolve.js';
import { loadNetworkPolicy } from './rules.js';
import { ConnectGate } from './gate.js';
import { SecretWatch } from './secrets.js';
import { NET_SEQ_BASE } from './env.js';

/** Longest unix socket path (sockaddr_un.sun_path is 108 bytes with the NUL). */
const SUN_PATH_MAX = 107;

export interface RunProxy {
  run: number;
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

function record(service: Service, r: RunProxy, c: ConnectionRecord): void {
  const row = service.journal.getRun(r.run);
  try {
    service.journal.insertNetEvent({
      runId: r.run, seq: NET_SEQ_BASE + ++r.seq, ts: c.startedAt, pid: c.pid ?? row?.rootPid ?? 0, tid: 0,
      op: 'connect', sys: c.method, path: `${c.host}:${c.port}`, path2: null, flags: null,
      decision: c.decision, ruleId: c.ruleId, band: c.band, errno: c.errno, pre: null, preSha: null,
      pre2: null, argv: null, holdId: c.holdId ?? null, holdBy: c.holdBy ?? null, heldMs: c.heldMs ?? null,
      bytesUp: c.bytesUp, bytesDown: c.bytesDown,
    }); // prettier-ignore
  } catch (err) {
    service.log(`daemon: net: journaling a connection of run ${r.run} failed: ${(err as Error).message}`);
  }
}

/**
 * Starts the egress proxy of run `ctx.run` on the unix socket `socket` (0600; a stale file there is replaced).
 * `transparent`: the proxy also takes `CONNECT ip:port` with `X-Warden-Transparent: 1` from warden-watch's relay
 * (the destination named by the client's first bytes, see EgressProxy). Connect events continue the run's seq
 * range (a daemon restart may have journaled some already).
 * @throws WardenError('state-path-too-long') when `socket` does not fit a sockaddr_un; errors of listen().
 */
export async function startRunProxy(
  service: Service,
  resolver: HostResolver,
  ctx: Pick<RunContext, 'run' | 'home' | 'cwd' | 'policies'>,
  socket: string,
  transparent = false,
): Promise<RunProxy> {
  if (Buffer.byteLength(socket) > SUN_PATH_MAX)
    throw new WardenError(
      'state-path-too-long',
      `the proxy socket ${socket} is longer than ${SUN_PATH_MAX} bytes (a unix socket limit): use a shorter --state dir, or --net host`,
      2,
    );
  const policy = loadNetworkPolicy(policyFiles(service.layout, ctx.policies ?? []));
  const secrets = new SecretWatch(service, ctx.run, ctx.home, ctx.cwd);
  const gate = new ConnectGate(service, ctx.run, policy, secrets);
  const seq = Math.max(0, service.journal.maxSeq(ctx.run) - NET_SEQ_BASE);
  const r: RunProxy = { run: ctx.run, proxy: null as unknown as EgressProxy, gate, socket, ino: 0, seq };
  r.proxy = new EgressProxy({
    gate: (host, port, method) => gate.decide(host, port, method),
    resolve: (host) => resolver.resolve(host),
    record: (c) => record(service, r, c),
    log: service.log,
    transparent,
  });
  await r.proxy.listen(socket);
  r.ino = inode(socket);
  return r;
}

/** Stops a run's proxy: ends its holds, cuts its connections, removes its socket file if it is still its own. */
export async function stopRunProxy(r: RunProxy): Promise<void> {
  r.gate.endAll();
  await r.proxy.close();
  if (inode(r.socket) === r.ino) rmSync(r.socket, { force: true });
}
