/**
 * `warden run -- CMD ARGS…`: registers a run with the daemon, starts the command under `warden-supervise`
 * (seccomp user-notify + Landlock), waits for it, has the daemon ingest the whole event log, and prints a
 * one-line summary on stderr. The command's exit code is passed through.
 */
import { spawn } from 'node:child_process';
import { realpathSync, statSync } from 'node:fs';
import { tmpdir, homedir } from 'node:os';
import { resolve } from 'node:path';
import { constants as osConstants } from 'node:os';
import { z } from 'zod';
import { ensureDaemon } from '../daemon/launch.js';
import { WardenError, errorMessage } from '../util/errors.js';
import { chooseStateDir, ensureStateDir } from '../util/paths.js';
import type { DaemonClient } from '../api/client.js';
import { promptForHolds, shouldPrompt } from './prompt.js';
import { chooseNetMode, netnsCommand, type NetMode } from '../net/netns.js';

export interface RunOpts {
  workspace?: string;
  policy: string[];
  state?: string;
  landlock: boolean;
  quiet?: boolean;
  /** Network mode (issue 6): default isolated where a network namespace can be made, else host. */
  net?: NetMode;
}

const startResult = z.object({
  run: z.number().int().positive(),
  table: z.string(),
  events: z.string(),
  stage: z.string(),
  helper: z.string(),
  /** Added by the daemon's extension areas (core/daemon/extension.ts). */
  env: z.record(z.string(), z.string()).default({}),
  pathPrepend: z.array(z.string()).default([]),
  forwards: z.array(z.object({ port: z.number().int(), socket: z.string() })).default([]),
});

const finishResult = z.object({
  summary: z.object({
    events: z.number(),
    denied: z.number(),
    preimages: z.number(),
    faults: z.number().optional(),
    irreversible: z.number().optional(),
  }),
});

function realDir(path: string, what: string): string {
  try {
    const real = realpathSync(path);
    if (!statSync(real).isDirectory()) throw new Error('not a directory');
    return real;
  } catch (err) {
    throw new WardenError('bad-dir', `${what} ${path} is not a usable directory (${errorMessage(err)})`, 2);
  }
}

/** Temp dirs an agent may write to: $TMPDIR, /tmp and /var/tmp, realpath'd, existing ones only. */
export function tempDirs(): string[] {
  const out = new Set<string>();
  for (const d of [tmpdir(), '/tmp', '/var/tmp']) {
    try {
      out.add(realpathSync(d));
    } catch {
      /* absent on this system */
    }
  }
  return [...out];
}

/**
 * Starts (or finds) a daemon for `layout` after ours went away mid-run, retrying with backoff (250 ms doubling
 * to 4 s) until it answers or `over()` says the run ended. Resolves with the new client, or null.
 */
async function reviveDaemon(
  layout: ReturnType<typeof ensureStateDir>,
  over: () => boolean,
): Promise<DaemonClient | null> {
  let wait = 250;
  while (!over()) {
    try {
      return await ensureDaemon(layout);
    } catch {
      await new Promise((r) => setTimeout(r, wait));
      wait = Math.min(wait * 2, 4000);
    }
  }
  return null;
}

/** Runs `argv` under supervision and resolves with the exit code `warden run` should exit with. */
export async function runCommand(argv: string[], opts: RunOpts): Promise<number> {
  if (argv.length === 0)
    throw new WardenError(
      'usage',
      'nothing to run: give the command after `--`, e.g. `warden run -- rm -rf build`',
      2,
    );
  const layout = ensureStateDir(chooseStateDir(opts.state));
  const cwd = process.cwd();
  const workspace = realDir(resolve(opts.workspace ?? cwd), 'workspace');
  const home = realDir(process.env.HOME || homedir(), 'home directory');
  const net = chooseNetMode(opts.net);
  let client: DaemonClient = await ensureDaemon(layout);
  let started;
  try {
    started = startResult.parse(
      await client.call('run.start', {
        argv,
        cwd,
        workspace,
        home,
        tmp: tempDirs(),
        policies: opts.policy.map((p) => resolve(p)),
        landlock: opts.landlock,
        net: net.mode,
      }),
    );
  } catch (err) {
    client.close();
    throw err;
  }

  if (shouldPrompt()) await promptForHolds(client, started.run);
  const env = { ...process.env, ...started.env };
  if (started.pathPrepend.length > 0)
    env.PATH = [...started.pathPrepend, ...(process.env.PATH ?? '').split(':').filter(Boolean)].join(':');
  // Daemon restarts during the run: when our connection drops, start a new daemon at once (the helper
  // reconnects to it by itself and re-sends its pending holds; helper/linux/WIRE.md §3 "Daemon restarts").
  let runOver = false;
  const watchDaemon = (c: DaemonClient) =>
    c.onClose(() => {
      if (runOver) return;
      void reviveDaemon(layout, () => runOver).then((next) => {
        if (!next) return;
        if (runOver) return next.close();
        client = next;
        watchDaemon(next);
      });
    });
  watchDaemon(client);
  const helperArgs = ['--table', started.table, '--', ...argv];
  // --net isolated: warden-netns makes the namespace, forwards the daemon's proxy into it, and execs the
  // supervisor, so `child` stays the supervised tree and signals and the exit status pass through unchanged.
  const [file, args] =
    net.mode === 'isolated'
      ? netnsCommand(started.helper, helperArgs, started.forwards)
      : [started.helper, helperArgs];
  const child = spawn(file, args, { stdio: 'inherit', env });
  // The terminal's signals reach the helper and the agent directly (same process group); signals sent to
  // this process alone are forwarded, and we stay alive to finish the run's journal.
  const forward = (sig: NodeJS.Signals) => child.kill(sig);
  for (const s of ['SIGINT', 'SIGTERM', 'SIGHUP'] as const) process.on(s, forward);
  const { code, signal } = await new Promise<{ code: number | null; signal: NodeJS.Signals | null }>(
    (res, rej) => {
      child.once('error', rej);
      child.once('exit', (code, signal) => res({ code, signal }));
    },
  );
  for (const s of ['SIGINT', 'SIGTERM', 'SIGHUP'] as const) process.off(s, forward);
  runOver = true;

  let finished;
  try {
    finished = await client.call('run.finish', { run: started.run, exitCode: code, signal });
  } catch {
    // The daemon died during the run: the helper's event log kept everything; a new daemon ingests it.
    client.close();
    client = await ensureDaemon(layout);
    finished = await client.call('run.finish', { run: started.run, exitCode: code, signal });
  }
  client.close();
  const { summary } = finishResult.parse(finished);

  let exit: number;
  let status: string;
  if (signal) {
    exit = 128 + (osConstants.signals[signal] ?? 0);
    status = `the supervisor was killed by ${signal}; the run was stopped (fail-closed)`;
  } else {
    exit = code ?? 1;
    status = `exit ${exit}`;
  }
  if (!opts.quiet) {
    if (net.warning) process.stderr.write(`warden: warning: ${net.warning}.\n`);
    const extra = [
      summary.faults ? `${summary.faults} faults` : '',
      summary.irreversible ? `${summary.irreversible} irreversible` : '',
    ].filter(Boolean);
    process.stderr.write(
      `warden: run ${started.run} ended (${status}): ${summary.events} events, ${summary.denied} denied, ` +
        `${summary.preimages} pre-images kept${extra.length ? ', ' + extra.join(', ') : ''}. ` +
        `See \`warden log --run ${started.run}\`; undo with \`warden rollback --run ${started.run}\`.\n`,
    );
  }
  return exit;
}
