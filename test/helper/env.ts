// Shared set-up for the helper tests: a temp tree with state, stage, workspace, fake HOME and an outside dir
// (all on one filesystem so hardlink pre-images work), a hand-written run table, and a runner that starts
// helper/linux/build/warden-supervise with argv arrays and parses the event log.
import { spawnSync, type SpawnSyncReturns } from 'node:child_process';
import * as fs from 'node:fs';
import * as os from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { parseEventLine } from '../../core/wire/events.js';

export const root = fileURLToPath(new URL('../../..', import.meta.url));
export const supervise = join(root, 'helper', 'linux', 'build', 'warden-supervise');
export const match = join(root, 'helper', 'linux', 'build', 'warden-match');
/** Debian's python3, not a pyenv shim (shims exec a dozen helpers and look at HOME). */
export const python = fs.existsSync('/usr/bin/python3') ? '/usr/bin/python3' : 'python3';

/** Reason to skip when the helper is not built, else undefined. */
export function missingHelper(): string | undefined {
  for (const b of [supervise, match]) if (!fs.existsSync(b)) return `${b} is missing (make -C helper/linux)`;
  return undefined;
}

export interface Env {
  dir: string;
  state: string;
  stage: string;
  events: string;
  socket: string;
  ws: string;
  home: string;
  outside: string;
  table: string;
}

export interface EnvOptions {
  /** Extra `rule` lines (already TAB-joined), inserted before the defaults. */
  rules?: string[];
  /** Extra wall_write paths. */
  wallWrite?: string[];
  landlock?: boolean;
  preimageMax?: number;
  /** Extra table records (already TAB-joined), e.g. `bulk\t50\t10000`, placed before the rules. */
  extra?: string[];
}

/** Creates the tree and the table. Rules: deny rm -r of HOME at exec, allow exec, allow all ops in ws and HOME. */
export function makeEnv(opts: EnvOptions = {}): Env {
  const dir = fs.realpathSync(fs.mkdtempSync(join(os.tmpdir(), 'warden-h-')));
  const state = join(dir, 'state');
  const e: Env = {
    dir,
    state,
    stage: join(state, 'stage', '1'),
    events: join(state, 'runs', '1', 'events.ndjson'),
    socket: join(state, 'warden.sock'),
    ws: join(dir, 'ws'),
    home: join(dir, 'home'),
    outside: join(dir, 'outside'),
    table: join(dir, 'table'),
  };
  fs.mkdirSync(join(state, 'runs', '1'), { recursive: true, mode: 0o700 });
  fs.mkdirSync(e.stage, { recursive: true, mode: 0o700 });
  for (const d of [e.ws, e.home, e.outside]) fs.mkdirSync(d);
  const lines = [
    'warden-table\t1',
    'run\t1',
    `state\t${state}`,
    `socket\t${e.socket}`,
    `events\t${e.events}`,
    `stage\t${e.stage}`,
    `home\t${e.home}`,
    `workspace\t${e.ws}`,
    `preimage_max\t${opts.preimageMax ?? 1 << 20}`,
    `wall_write\t${e.ws}`,
    `wall_write\t${e.home}`,
    ...(opts.wallWrite ?? []).map((w) => `wall_write\t${w}`),
    `wall_deny_read\t${state}`,
    ...(opts.extra ?? []),
    ...(opts.rules ?? []),
    `rule\tprotect-home\t10-protected\tdeny\texec\ttree\t${e.home}`,
    'rule\tallow-exec\t90-default\tallow\texec\tpath\t/**',
    `rule\tallow-ws\t90-default\tallow\t*\tpath\t${e.ws}/**`,
    `rule\tallow-home\t90-default\tallow\t*\tpath\t${e.home}/**`,
    'rule\tallow-dev\t90-default\tallow\t*\tpath\t/dev/**',
    `landlock\t${opts.landlock === false ? 'off' : 'on'}`,
  ];
  fs.writeFileSync(e.table, lines.join('\n') + '\n');
  return e;
}

export function cleanup(e: Env): void {
  fs.rmSync(e.dir, { recursive: true, force: true });
}

// Event lines as the helper writes them (WIRE.md §2); loose on purpose, the zod schema lives in core/wire.
export interface Pre {
  kind: string;
  type?: string;
  size?: number;
  mode?: number;
  nlink?: number;
  target?: string;
  trash?: string;
}
export interface Line {
  t: string;
  seq?: number;
  pid?: number;
  tid?: number;
  op?: string;
  sys?: string;
  path?: string;
  path_hex?: string;
  path2?: string | null;
  decision?: string;
  rule?: string;
  err?: number;
  pre?: Pre | null;
  pre2?: Pre | null;
  argv?: string[];
  status?: number;
  signal?: number;
  events?: number;
  landlock?: number;
  what?: string;
  hold?: number | string;
  by?: string;
  held_ms?: number;
  held?: string;
  steer?: string;
}

export function readEvents(e: Env): Line[] {
  if (!fs.existsSync(e.events)) return [];
  return fs
    .readFileSync(e.events, 'utf8')
    .split('\n')
    .filter((l) => l.length > 0)
    .map((l) => {
      const o = JSON.parse(l) as Record<string, unknown>;
      // every line must pass the daemon's own schema (throws otherwise). WIRE.md §3 makes `hold` a number on
      // held events; core/wire/events.ts still types it as the old string ("unsupported"), so a numeric
      // hold is checked as a string until that schema follows the wire.
      parseEventLine(typeof o.hold === 'number' ? JSON.stringify({ ...o, hold: String(o.hold) }) : l);
      return o as unknown as Line;
    });
}

export function evs(lines: Line[]): Line[] {
  return lines.filter((l) => l.t === 'ev');
}

export interface Run {
  r: SpawnSyncReturns<string>;
  lines: Line[];
}

/** Runs `cmd` supervised with cwd = the workspace and HOME = the fake home; bounded by a timeout. */
export function run(e: Env, cmd: string[], timeoutMs = 20000): Run {
  const r = spawnSync(supervise, ['--table', e.table, '--', ...cmd], {
    cwd: e.ws,
    encoding: 'utf8',
    timeout: timeoutMs,
    env: { PATH: '/usr/local/bin:/usr/bin:/bin', HOME: e.home, LANG: 'C.UTF-8' },
  });
  return { r, lines: readEvents(e) };
}

/** `sh -c SCRIPT` supervised. */
export function sh(e: Env, script: string, timeoutMs?: number): Run {
  return run(e, ['sh', '-c', script], timeoutMs);
}
