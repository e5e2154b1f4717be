/**
 * Where things live: the package root, the helper binaries and the state dir.
 *
 * State dir precedence (DESIGN.md "daemon"): `--state DIR` > `$WARDEN_STATE` > `$XDG_STATE_HOME/warden` >
 * `~/.local/state/warden`. Everything the daemon owns is below it; see `stateLayout`.
 */
import { accessSync, constants, existsSync, mkdirSync, realpathSync, statSync, chmodSync } from 'node:fs';
import { homedir } from 'node:os';
import { join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { WardenError } from './errors.js';

/** Absolute path of the warden checkout / installed package (the folder holding package.json). */
export const packageRoot: string = fileURLToPath(new URL('../../../', import.meta.url));

/** Path of a helper binary built by `make -C helper/linux` (e.g. `warden-supervise`). */
export function helperBinary(
  name: 'warden-supervise' | 'warden-match' | 'warden-netns' | 'warden-watch',
): string {
  return join(packageRoot, 'helper', 'linux', 'build', name);
}

/** The default policy folder shipped with Warden (`policies/`). */
export const defaultPolicyDir: string = join(packageRoot, 'policies');

/** Picks the state dir from an explicit option, the environment, or the XDG default (not created here). */
export function chooseStateDir(explicit?: string, env: NodeJS.ProcessEnv = process.env): string {
  if (explicit) return resolve(explicit);
  if (env.WARDEN_STATE) return resolve(env.WARDEN_STATE);
  const xdg = env.XDG_STATE_HOME && env.XDG_STATE_HOME.startsWith('/') ? env.XDG_STATE_HOME : undefined;
  return join(xdg ?? join(env.HOME || homedir(), '.local', 'state'), 'warden');
}

/** Files and folders inside a state dir. All paths absolute. */
export interface StateLayout {
  dir: string;
  socket: string;
  db: string;
  blobs: string;
  runs: string;
  stage: string;
  rollbacks: string;
  policies: string;
  daemonLog: string;
  daemonPid: string;
  /** HTTP + WebSocket API on a unix socket (no token needed: the file is 0600 in the 0700 state dir). */
  apiSocket: string;
  /** `{port, token, socket, pid}` of the HTTP API, mode 0600: how the desktop app and `warden ui` find it. */
  apiJson: string;
}

/** Computes the layout of state dir `dir` (absolute). Pure: touches nothing on disk. */
export function stateLayout(dir: string): StateLayout {
  return {
    dir,
    socket: join(dir, 'warden.sock'),
    db: join(dir, 'journal.db'),
    blobs: join(dir, 'blobs'),
    runs: join(dir, 'runs'),
    stage: join(dir, 'stage'),
    rollbacks: join(dir, 'rollbacks'),
    policies: join(dir, 'policies'),
    daemonLog: join(dir, 'daemon.log'),
    daemonPid: join(dir, 'daemon.pid'),
    apiSocket: join(dir, 'api.sock'),
    apiJson: join(dir, 'api.json'),
  };
}

/**
 * Creates the state dir (mode 0700) and its sub-folders, and checks it is writable.
 * Returns the layout with `dir` realpath'd (the helper compares canonical paths).
 * @throws WardenError(code 'state-unwritable') naming the dir and what to do.
 */
export function ensureStateDir(dir: string): StateLayout {
  try {
    mkdirSync(dir, { recursive: true, mode: 0o700 });
    const st = statSync(dir);
    if (!st.isDirectory()) throw new Error('not a directory');
    accessSync(dir, constants.W_OK | constants.X_OK);
    if ((st.mode & 0o077) !== 0) chmodSync(dir, 0o700);
    const layout = stateLayout(realpathSync(dir));
    for (const sub of [layout.blobs, layout.runs, layout.stage, layout.rollbacks, layout.policies]) {
      mkdirSync(sub, { recursive: true, mode: 0o700 });
    }
    // A state dir where the journal exists but is read-only is as unusable as one we cannot create files in.
    if (existsSync(layout.db)) accessSync(layout.db, constants.W_OK);
    return layout;
  } catch (err) {
    const why = err instanceof Error ? err.message : String(err);
    throw new WardenError(
      'state-unwritable',
      `state dir ${dir} is not usable (${why}). Choose a writable one with --state DIR or WARDEN_STATE=DIR.`,
    );
  }
}
