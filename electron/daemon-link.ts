/**
 * The desktop app's link to the daemon: a connection on the state dir's unix socket (`warden.sock`,
 * NDJSON, the same API the CLI uses) carrying both the app's requests and the pushed messages
 * (`events.subscribe`). Starts `warden daemon` detached when nothing answers, reconnects with backoff when
 * the daemon goes away, and reports `connecting` / `connected` / `disconnected`.
 *
 * Why not `core/daemon/launch.ts`'s `ensureDaemon`: it spawns `process.execPath`, which inside Electron is
 * the Electron binary, not Node; here the interpreter is a parameter (`ELECTRON_RUN_AS_NODE=1` makes the
 * Electron binary act as Node in a packaged app). Why the unix socket and not the WebSocket: no token to
 * read, and the socket's 0600 mode in the 0700 state dir is the authentication.
 *
 * A dropped link is noticed at once by `DaemonClient.onClose`, and otherwise by the health poll (`status`
 * every `pollMs`, which also refreshes helper presence for the tray) or by a failing call.
 */
import { spawn } from 'node:child_process';
import { closeSync, openSync } from 'node:fs';
import { join } from 'node:path';
import { DaemonClient } from '../core/api/client.js';
import type { Hold, Method, Push } from '../core/api/contract.js';
import { packageRoot, type StateLayout } from '../core/util/paths.js';
import type { ConnectionStatus } from './tray.js';

/** What `status` tells the tray. The daemon has no self-test result yet: an optional field is read if present. */
export interface Health {
  helperPresent: boolean;
  selfTest: 'passed' | 'failed' | 'unknown';
  runs: number[];
}

export interface DaemonLinkOptions {
  layout: StateLayout;
  /** Start `warden daemon` when nothing answers (false in tests that own the daemon). */
  autostart: boolean;
  /** Interpreter for `bin/warden.js` and extra environment (e.g. `ELECTRON_RUN_AS_NODE=1`). */
  node: { execPath: string; env?: Record<string, string> };
  /** Health poll period, ms. */
  pollMs: number;
  /** Longest wait between reconnect attempts, ms (backoff doubles from 250 ms). */
  maxBackoffMs: number;
  onStatus(s: ConnectionStatus): void;
  onPush(p: Push): void;
  /** The pending holds, after each (re)connect. */
  onHolds(holds: Hold[]): void;
  onHealth(h: Health): void;
  log(line: string): void;
}

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

/**
 * Reads `status`'s answer defensively: only `helper`, `runsInProgress`, an optional `selfTest.ok` and the
 * watch-mode extension's `extensions.watch.ok` (false when its helper died, stopped answering or missed a
 * canary: fanotify fails open then, so the tray must show a fault).
 */
export function healthFromStatus(result: unknown): Health {
  const r = (result ?? {}) as {
    helper?: unknown;
    runsInProgress?: unknown;
    selfTest?: { ok?: unknown } | null;
    extensions?: { watch?: { ok?: unknown } | null } | null;
  };
  const watchFault = r.extensions?.watch?.ok === false;
  const selfTest = watchFault
    ? 'failed'
    : r.selfTest && typeof r.selfTest.ok === 'boolean'
      ? r.selfTest.ok
        ? 'passed'
        : 'failed'
      : 'unknown';
  const runs = Array.isArray(r.runsInProgress)
    ? r.runsInProgress.filter((x): x is number => Number.isInteger(x))
    : [];
  return { helperPresent: typeof r.helper === 'string' && r.helper !== '', selfTest, runs };
}

export class DaemonLink {
  private client: DaemonClient | null = null;
  private statusNow: ConnectionStatus = 'connecting';
  private stopped = false;
  private poll: NodeJS.Timeout | null = null;
  private started = false;

  constructor(private readonly o: DaemonLinkOptions) {}

  status(): ConnectionStatus {
    return this.statusNow;
  }

  /** Starts connecting (and keeps reconnecting until `stop()`). Resolves after the first attempt. */
  async start(): Promise<void> {
    this.setStatus('connecting');
    if (!(await this.connectOnce())) this.dropped();
    this.poll = setInterval(() => void this.tick(), this.o.pollMs);
  }

  stop(): void {
    this.stopped = true;
    if (this.poll) clearInterval(this.poll);
    this.client?.close();
    this.client = null;
  }

  /**
   * Forwards one already-validated request.
   * @throws Error with `code` 'daemon-unreachable' when not connected, or the daemon's WardenError.
   */
  async call(method: Method, params: unknown): Promise<unknown> {
    const c = this.client;
    if (!c) {
      throw Object.assign(new Error('the warden daemon is not reachable; the app keeps retrying'), {
        code: 'daemon-unreachable',
      });
    }
    try {
      return await c.call(method, params as never);
    } catch (err) {
      if ((err as { code?: string }).code === 'daemon-gone') this.dropped();
      throw err;
    }
  }

  private setStatus(s: ConnectionStatus): void {
    if (s === this.statusNow && this.started) return;
    this.started = true;
    this.statusNow = s;
    this.o.onStatus(s);
  }

  private async connectOnce(): Promise<boolean> {
    let client: DaemonClient;
    try {
      client = await DaemonClient.connect(this.o.layout.socket);
    } catch {
      if (!this.o.autostart) return this.fail('no daemon answers on ' + this.o.layout.socket);
      try {
        client = await this.launchAndConnect();
      } catch (err) {
        return this.fail(`could not start the daemon: ${(err as Error).message}`);
      }
    }
    try {
      await client.subscribe((p) => this.o.onPush(p));
      const holds = (await client.call('holds.list', {})) as Hold[];
      const health = healthFromStatus(await client.call('status', {}));
      if (this.stopped) {
        client.close();
        return false;
      }
      this.client = client;
      client.onClose(() => {
        if (this.client === client) this.dropped();
      });
      this.setStatus('connected');
      this.o.onHealth(health);
      this.o.onHolds(holds);
      return true;
    } catch (err) {
      client.close();
      return this.fail(`daemon handshake failed: ${(err as Error).message}`);
    }
  }

  private fail(why: string): false {
    this.o.log(`link: ${why}`);
    this.setStatus('disconnected');
    return false;
  }

  private async tick(): Promise<void> {
    if (!this.client) {
      if (!this.reconnecting) this.dropped();
      return;
    }
    try {
      this.o.onHealth(healthFromStatus(await this.client.call('status', {})));
    } catch {
      this.dropped();
    }
  }

  private reconnecting = false;
  private dropped(): void {
    if (this.stopped || this.reconnecting) return;
    this.client?.close();
    this.client = null;
    this.setStatus('disconnected');
    this.reconnecting = true;
    void (async () => {
      let wait = 250;
      while (!this.stopped) {
        await sleep(wait);
        if (this.stopped) break;
        if (await this.connectOnce()) break;
        wait = Math.min(wait * 2, this.o.maxBackoffMs);
      }
      this.reconnecting = false;
    })();
  }

  /** Spawns `warden daemon --state DIR` detached (log in `daemon.log`) and waits up to 15 s for its socket. */
  private async launchAndConnect(): Promise<DaemonClient> {
    const { layout } = this.o;
    const logFd = openSync(layout.daemonLog, 'a', 0o600);
    const child = spawn(
      this.o.node.execPath,
      [join(packageRoot, 'bin', 'warden.js'), 'daemon', '--state', layout.dir, '--idle-exit', '600'],
      { detached: true, stdio: ['ignore', logFd, logFd], env: { ...process.env, ...this.o.node.env } },
    );
    closeSync(logFd);
    let exited: number | null = null;
    child.once('exit', (code) => (exited = code ?? -1));
    child.once('error', () => (exited = -1));
    child.unref();
    this.o.log(`link: started warden daemon (pid ${child.pid ?? '?'}) for ${layout.dir}`);
    const deadline = Date.now() + 15000;
    for (;;) {
      try {
        return await DaemonClient.connect(layout.socket);
      } catch (err) {
        if ((exited !== null && exited !== 0) || Date.now() > deadline) {
          throw new Error(
            `no daemon socket at ${layout.socket} (see ${layout.daemonLog}): ${(err as Error).message}`,
          );
        }
        await sleep(50);
      }
    }
  }
}
