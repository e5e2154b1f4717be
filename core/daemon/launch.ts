/**
 * Starting the embedded default daemon on demand: `warden run` and the other commands connect to the state
 * dir's socket, and when nothing answers they start `warden daemon` detached (logging to `daemon.log`,
 * exiting after a while idle) and wait for it to listen.
 */
import { spawn } from 'node:child_process';
import { openSync, closeSync, readFileSync, existsSync } from 'node:fs';
import { join } from 'node:path';
import { DaemonClient } from '../api/client.js';
import { WardenError } from '../util/errors.js';
import { packageRoot, type StateLayout } from '../util/paths.js';

/** Seconds an on-demand daemon stays up with no client and no run. */
export const ON_DEMAND_IDLE_SEC = 600;

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

/**
 * Returns a client connected to the daemon of `layout`, starting one if none answers.
 * @throws WardenError('daemon-start') with the tail of the daemon log if it did not come up within `timeoutMs`.
 */
export async function ensureDaemon(layout: StateLayout, timeoutMs = 15000): Promise<DaemonClient> {
  try {
    return await DaemonClient.connect(layout.socket);
  } catch {
    // nothing listening: start one below
  }
  const logFd = openSync(layout.daemonLog, 'a', 0o600);
  const child = spawn(
    process.execPath,
    [
      join(packageRoot, 'bin', 'warden.js'),
      'daemon',
      '--state',
      layout.dir,
      '--idle-exit',
      String(ON_DEMAND_IDLE_SEC),
    ],
    { detached: true, stdio: ['ignore', logFd, logFd], env: { ...process.env } },
  );
  closeSync(logFd);
  let exited: number | null = null;
  child.once('exit', (code) => (exited = code ?? -1));
  child.unref();
  const deadline = Date.now() + timeoutMs;
  while (Date.now() < deadline) {
    try {
      return await DaemonClient.connect(layout.socket);
    } catch {
      if (exited !== null && exited !== 0) break;
      await sleep(25);
    }
  }
  // A daemon started concurrently by another command may have won the race for the socket.
  try {
    return await DaemonClient.connect(layout.socket);
  } catch {
    const tail = existsSync(layout.daemonLog)
      ? readFileSync(layout.daemonLog, 'utf8').split('\n').slice(-12).join('\n')
      : '';
    throw new WardenError(
      'daemon-start',
      `could not start the warden daemon for ${layout.dir}. Its log ends with:\n${tail}`,
    );
  }
}
