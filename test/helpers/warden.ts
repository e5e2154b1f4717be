/**
 * Test harness for end-to-end scenarios: a private sandbox (fake HOME, workspace, an "outside" dir, a state
 * dir) under `scratchBase()` — deliberately not under /tmp, which the default policy lets agents write —
 * and a function that runs the real `bin/warden.js` in it with argv arrays (never a shell string).
 */
import { spawn, spawnSync, type SpawnSyncReturns } from 'node:child_process';
import { mkdirSync, mkdtempSync, readFileSync, rmSync, existsSync, realpathSync } from 'node:fs';
import { join } from 'node:path';
import { homedir, tmpdir } from 'node:os';
import type { Hold } from '../../core/api/contract.js';
import { ensureDaemon } from '../../core/daemon/launch.js';
import { ensureStateDir } from '../../core/util/paths.js';
import { fileURLToPath } from 'node:url';

export const repoRoot = fileURLToPath(new URL('../../../', import.meta.url));
export const wardenBin = join(repoRoot, 'bin', 'warden.js');

export interface Sandbox {
  root: string;
  home: string;
  ws: string;
  outside: string;
  state: string;
  env: NodeJS.ProcessEnv;
}

/**
 * Where sandboxes go: `$WARDEN_SCRATCH`, else `<repo>/.scratch`, unless the checkout itself lies in a temp dir
 * (CI may clone into /tmp): the default policy lets agents write every temp dir, so an "outside" dir there
 * would not be outside at all. Then `~/.warden-test-scratch` of the real user is used.
 */
export function scratchBase(): string {
  if (process.env.WARDEN_SCRATCH) return process.env.WARDEN_SCRATCH;
  const real = (p: string) => {
    try {
      return realpathSync(p);
    } catch {
      return p;
    }
  };
  const tmpRoots = [tmpdir(), '/tmp', '/var/tmp', '/dev/shm'].map(real);
  const inTmp = (p: string) => tmpRoots.some((t) => p === t || p.startsWith(t + '/'));
  const repo = real(repoRoot);
  if (!inTmp(repo)) return join(repo, '.scratch');
  const home = real(homedir());
  if (inTmp(home))
    throw new Error('both the checkout and HOME are in temp dirs: set WARDEN_SCRATCH to a dir outside them');
  return join(home, '.warden-test-scratch');
}

/** Creates a fresh sandbox. Everything lives on one filesystem, so hardlink pre-images work. */
export function makeSandbox(name: string): Sandbox {
  const base = scratchBase();
  mkdirSync(base, { recursive: true });
  const root = realpathSync(mkdtempSync(join(base, `${name}-`)));
  const sb = {
    root,
    home: join(root, 'home'),
    ws: join(root, 'home', 'proj'),
    outside: join(root, 'outside'),
    state: join(root, 'state'),
  };
  for (const d of [sb.home, sb.ws, sb.outside]) mkdirSync(d, { recursive: true });
  const env: NodeJS.ProcessEnv = {
    PATH: process.env.PATH,
    HOME: sb.home,
    WARDEN_STATE: sb.state,
    LANG: 'C.UTF-8',
    GIT_CONFIG_NOSYSTEM: '1',
    GIT_AUTHOR_NAME: 'Test',
    GIT_AUTHOR_EMAIL: 'test@example.invalid',
    GIT_COMMITTER_NAME: 'Test',
    GIT_COMMITTER_EMAIL: 'test@example.invalid',
  };
  return { ...sb, env };
}

export interface WardenResult {
  status: number | null;
  signal: NodeJS.Signals | null;
  stdout: string;
  stderr: string;
}

/** Runs `warden ARGS…` in the sandbox (cwd defaults to the workspace) and returns its outcome. */
export function warden(
  sb: Sandbox,
  args: string[],
  opts: { cwd?: string; timeoutMs?: number; env?: NodeJS.ProcessEnv } = {},
): WardenResult {
  const r: SpawnSyncReturns<string> = spawnSync(process.execPath, [wardenBin, ...args], {
    cwd: opts.cwd ?? sb.ws,
    env: { ...sb.env, ...opts.env },
    encoding: 'utf8',
    timeout: opts.timeoutMs ?? 120_000,
    maxBuffer: 64 * 1024 * 1024,
  });
  if (r.error) throw r.error;
  return { status: r.status, signal: r.signal, stdout: r.stdout, stderr: r.stderr };
}

/** `warden run --workspace WS -- CMD…` in the sandbox. */
export function guarded(
  sb: Sandbox,
  cmd: string[],
  opts: { cwd?: string; extra?: string[]; timeoutMs?: number } = {},
): WardenResult {
  return warden(sb, ['run', '--workspace', sb.ws, ...(opts.extra ?? []), '--', ...cmd], opts);
}

/** Parsed `warden log --json` of a run. */
export function runLog(
  sb: Sandbox,
  run = 'last',
): { run: { id: number }; events: Record<string, unknown>[] } {
  const r = warden(sb, ['log', '--run', run, '--json']);
  if (r.status !== 0) throw new Error(`warden log failed: ${r.stderr}`);
  return JSON.parse(r.stdout);
}

/** Stops the sandbox's daemon (if any) and removes the sandbox. */
export function destroySandbox(sb: Sandbox): void {
  warden(sb, ['daemon', '--stop'], { timeoutMs: 10_000 });
  const pidFile = join(sb.state, 'daemon.pid');
  if (existsSync(pidFile)) {
    const pid = Number(readFileSync(pidFile, 'utf8'));
    try {
      process.kill(pid, 'SIGKILL');
    } catch {
      /* already gone */
    }
  }
  if (!process.env.WARDEN_KEEP_SCRATCH) rmSync(sb.root, { recursive: true, force: true });
}

/**
 * A stand-in for the person at the desktop: subscribes to the sandbox daemon's pushed holds (starting the
 * daemon if needed) and answers each new one with `answer(hold)` (default: allow once). `holds` collects every
 * hold seen, so a test can assert what was asked. Call `stop()` when done.
 */
export async function startApprover(
  sb: Sandbox,
  answer: (h: Hold) => 'allow' | 'deny' | null = () => 'allow',
): Promise<{ holds: Hold[]; stop: () => void }> {
  const layout = ensureStateDir(sb.state);
  const client = await ensureDaemon(layout);
  const holds: Hold[] = [];
  await client.subscribe((p) => {
    if (p.type !== 'hold.new') return;
    holds.push(p.hold);
    const decision = answer(p.hold);
    if (decision)
      void client.call('holds.decide', { id: p.hold.id, decision, scope: 'once' }).catch(() => {});
  });
  return { holds, stop: () => client.close() };
}

/**
 * Runs `warden ARGS…` asynchronously (so the test process can answer holds or kill things meanwhile) with
 * prompting off. Resolves with the exit code and the combined output; kills it and rejects after `timeoutMs`.
 */
export function wardenAsync(
  sb: Sandbox,
  args: string[],
  opts: { cwd?: string; timeoutMs?: number } = {},
): Promise<{ code: number | null; output: string }> {
  const child = spawn(process.execPath, [wardenBin, ...args], {
    cwd: opts.cwd ?? sb.ws,
    env: { ...sb.env, WARDEN_NO_PROMPT: '1' },
  });
  let output = '';
  child.stdout.on('data', (d) => (output += d));
  child.stderr.on('data', (d) => (output += d));
  const ms = opts.timeoutMs ?? 120_000;
  return new Promise((resolve, reject) => {
    const timer = setTimeout(() => {
      child.kill('SIGKILL');
      reject(new Error(`warden ${args.join(' ')} did not end within ${ms} ms: ${output}`));
    }, ms);
    child.on('exit', (code) => {
      clearTimeout(timer);
      resolve({ code, output });
    });
  });
}
