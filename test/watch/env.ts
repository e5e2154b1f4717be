/**
 * A watch-mode sandbox: the sandbox of test/helpers/warden.ts, but on its own tmpfs (so the fanotify
 * filesystem mark sees only this test's files, never the rest of the machine), with the root helper
 * `warden-watch` started through `warden watch --foreground` and a long-lived daemon connected to it.
 * Everything that needs root or a kernel facility reports why it cannot run instead of pretending to pass.
 */
import { spawn, spawnSync, type ChildProcess } from 'node:child_process';
import { existsSync, mkdirSync, mkdtempSync, rmSync, writeFileSync, copyFileSync } from 'node:fs';
import { join } from 'node:path';
import { helperBinary } from '../../core/util/paths.js';
import { scratchBase, warden, wardenBin, type Sandbox } from '../helpers/warden.js';

export interface WatchSandbox extends Sandbox {
  /** tmpfs mount point holding everything below. */
  mount: string;
  bin: string;
  socket: string;
  shadow: string;
  /** A deny prefix of the helper (`--deny`), beneath the watched root. */
  denied: string;
  helper: ChildProcess | null;
  helperLog: () => string;
  daemonPid: number | null;
}

/** Why watch-mode tests cannot run here, or null when they can. */
export function watchSkipReason(): string | null {
  if (process.getuid?.() !== 0) return 'needs root: fanotify permission events, eBPF and tmpfs mounts';
  if (!existsSync(helperBinary('warden-watch')))
    return `${helperBinary('warden-watch')} is not built (needs clang, bpftool, libbpf-dev)`;
  if (!existsSync('/sys/kernel/btf/vmlinux')) return 'the kernel has no BTF (/sys/kernel/btf/vmlinux)';
  return null;
}

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

/** Polls `fn` every 50 ms until it returns a truthy value or `ms` pass (then throws with `what`). */
export async function until<T>(
  what: string,
  fn: () => T | null | undefined | false,
  ms = 10_000,
): Promise<T> {
  const end = Date.now() + ms;
  for (;;) {
    const v = fn();
    if (v) return v;
    if (Date.now() > end) throw new Error(`timed out after ${ms} ms waiting for ${what}`);
    await sleep(50);
  }
}

/** `warden watch status --json` of the sandbox daemon. */
export function watchStatus(sb: WatchSandbox): Record<string, unknown> & {
  connected: boolean;
  helperPid: number | null;
  fault: { ts: number; what: string } | null;
  mechanisms: Record<string, string> | null;
} {
  const r = warden(sb, ['watch', 'status', '--json'], { timeoutMs: 20_000 });
  return JSON.parse(r.stdout);
}

/** Starts `warden watch --foreground` for the sandbox (the helper) and waits for its socket. */
export async function startHelper(sb: WatchSandbox, extra: string[] = []): Promise<void> {
  rmSync(sb.socket, { force: true });
  let log = '';
  const child = spawn(
    process.execPath,
    [
      wardenBin,
      'watch',
      '--foreground',
      '--root',
      sb.home,
      '--shadow',
      sb.shadow,
      '--socket',
      sb.socket,
      '--deny',
      sb.denied,
      ...extra,
    ],
    { env: sb.env, stdio: ['ignore', 'pipe', 'pipe'] },
  );
  child.stdout!.on('data', (d) => (log += d));
  child.stderr!.on('data', (d) => (log += d));
  sb.helper = child;
  sb.helperLog = () => log;
  await until(
    `the helper's socket (log: ${log})`,
    () => existsSync(sb.socket) || child.exitCode !== null,
    20_000,
  );
  if (child.exitCode !== null) throw new Error(`warden watch --foreground exited ${child.exitCode}: ${log}`);
}

/** Creates the sandbox on a fresh tmpfs, starts the helper and a daemon, waits until they are connected. */
export async function makeWatchSandbox(name: string): Promise<WatchSandbox> {
  const base = scratchBase();
  mkdirSync(base, { recursive: true });
  const mount = mkdtempSync(join(base, `${name}-`));
  const m = spawnSync('mount', ['-t', 'tmpfs', '-o', 'size=1g,mode=0755', 'tmpfs', mount], {
    encoding: 'utf8',
  });
  if (m.status !== 0) throw new Error(`mount tmpfs on ${mount} failed: ${m.stderr}`);
  const sb: WatchSandbox = {
    root: mount,
    mount,
    home: join(mount, 'home'),
    ws: join(mount, 'home', 'proj'),
    outside: join(mount, 'outside'),
    state: join(mount, 'state'),
    bin: join(mount, 'bin'),
    socket: join(mount, 'run', 'watch.sock'),
    shadow: join(mount, 'shadow'),
    denied: join(mount, 'home', 'denied'),
    helper: null,
    helperLog: () => '',
    daemonPid: null,
    env: {},
  };
  for (const d of [sb.home, sb.ws, sb.denied, sb.outside, sb.bin, join(mount, 'run')])
    mkdirSync(d, { recursive: true });
  mkdirSync(sb.state, { recursive: true, mode: 0o700 });
  sb.env = {
    PATH: `${sb.bin}:${process.env.PATH}`,
    HOME: sb.home,
    WARDEN_STATE: sb.state,
    WARDEN_WATCH_SOCKET: sb.socket,
    WARDEN_WATCH_CANARY_MS: '1000',
    WARDEN_WATCH_STALE_MS: '2000',
    WARDEN_WATCH_RETRY_MS: '250',
    LANG: 'C.UTF-8',
  };
  // a stand-in agent: a real binary named like one
  copyFileSync('/bin/bash', join(sb.bin, 'claude'));
  spawnSync('chmod', ['755', join(sb.bin, 'claude')]);
  await startHelper(sb);
  const d = spawn(process.execPath, [wardenBin, 'daemon', '--idle-exit', '0'], {
    env: sb.env,
    stdio: 'ignore',
    detached: true,
  });
  d.unref();
  sb.daemonPid = d.pid ?? null;
  await until(
    'the daemon to connect to the helper',
    () => {
      try {
        return watchStatus(sb).connected;
      } catch {
        return false;
      }
    },
    20_000,
  );
  return sb;
}

/** Stops the daemon and the helper (by their pids) and removes the tmpfs. */
export async function destroyWatchSandbox(sb: WatchSandbox): Promise<void> {
  const kill = (pid: number | null | undefined) => {
    if (!pid) return;
    try {
      process.kill(pid, 'SIGKILL');
    } catch {
      /* gone */
    }
  };
  let helperPid: number | null = null;
  try {
    helperPid = watchStatus(sb).helperPid;
  } catch {
    /* daemon gone */
  }
  kill(sb.daemonPid);
  if (sb.helper && sb.helper.exitCode === null) {
    sb.helper.kill('SIGTERM');
    await until(
      'the helper to stop',
      () => sb.helper!.exitCode !== null || sb.helper!.signalCode !== null,
      5000,
    ).catch(() => sb.helper!.kill('SIGKILL'));
  }
  kill(helperPid);
  await sleep(100);
  if (spawnSync('umount', [sb.mount]).status !== 0) spawnSync('umount', ['-l', sb.mount]);
  rmSync(sb.mount, { recursive: true, force: true });
}

/** Writes an executable node script at `path` (mkdir -p). */
export function writeScript(path: string, body: string): void {
  mkdirSync(join(path, '..'), { recursive: true });
  writeFileSync(path, body, { mode: 0o755 });
}
