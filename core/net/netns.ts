/**
 * The CLI side of per-run network isolation: whether `warden-netns` can make a network namespace here (probed
 * once per `warden run`), and the argv that wraps the supervisor in one with the daemon's forwards.
 */
import { spawnSync } from 'node:child_process';
import { existsSync } from 'node:fs';
import { helperBinary } from '../util/paths.js';
import { WardenError } from '../util/errors.js';

export type NetMode = 'isolated' | 'host';

/** Why isolation is not available, or null when `warden-netns -- true` worked. */
export function netnsProblem(): string | null {
  const bin = helperBinary('warden-netns');
  if (!existsSync(bin)) return `${bin} is not built (run \`make -C helper/linux\`)`;
  const r = spawnSync(bin, ['--', 'true'], { encoding: 'utf8', timeout: 10_000 });
  if (r.status === 0) return null;
  return (r.stderr || r.error?.message || `exit ${r.status}`).trim();
}

/**
 * The network mode of a run: `requested` if given (`isolated` must work, else WardenError 'net-unavailable'),
 * else `isolated` when the probe succeeds and `host` with a warning when it does not.
 */
export function chooseNetMode(requested?: NetMode): { mode: NetMode; warning: string | null } {
  if (requested === 'host')
    return {
      mode: 'host',
      warning: 'network not isolated (--net host): the agent could reach any host directly, unchecked',
    };
  const problem = netnsProblem();
  if (!problem) return { mode: 'isolated', warning: null };
  if (requested === 'isolated')
    throw new WardenError(
      'net-unavailable',
      `--net isolated: no network namespace can be made here: ${problem}. Use --net host to run without isolation.`,
      2,
    );
  return {
    mode: 'host',
    warning: `network not isolated (no network namespace: ${problem}); the agent could reach any host directly`,
  };
}

/** `[file, args]` that run `cmd args` inside a new network namespace with `forwards` (warden-netns usage). */
export function netnsCommand(
  cmd: string,
  args: string[],
  forwards: { port: number; socket: string }[],
): [string, string[]] {
  const fw = forwards.flatMap((f) => ['--forward', `${f.port}=${f.socket}`]);
  return [helperBinary('warden-netns'), [...fw, '--', cmd, ...args]];
}
