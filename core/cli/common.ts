/**
 * Shared plumbing of the CLI commands: state dir + daemon connection, JSON output, error exits.
 */
import { DaemonClient } from '../api/client.js';
import { ensureDaemon } from '../daemon/launch.js';
import { WardenError, errorMessage } from '../util/errors.js';
import { chooseStateDir, ensureStateDir, type StateLayout } from '../util/paths.js';

export interface GlobalOpts {
  state?: string;
}

/** Opens the state dir (creating it) and connects to its daemon, starting one on demand. */
export async function connectDaemon(
  opts: GlobalOpts,
): Promise<{ layout: StateLayout; client: DaemonClient }> {
  const layout = ensureStateDir(chooseStateDir(opts.state));
  return { layout, client: await ensureDaemon(layout) };
}

/** Runs `fn` with a daemon client and closes it afterwards. */
export async function withDaemon<T>(
  opts: GlobalOpts,
  fn: (c: DaemonClient, layout: StateLayout) => Promise<T>,
): Promise<T> {
  const { layout, client } = await connectDaemon(opts);
  try {
    return await fn(client, layout);
  } finally {
    client.close();
  }
}

/** Prints `value` as indented JSON on stdout. */
export function printJson(value: unknown): void {
  process.stdout.write(JSON.stringify(value, null, 2) + '\n');
}

/** Prints an error as `warden: message` and sets the exit code (2 for bad input, else 1). */
export function fail(err: unknown): void {
  const code = err instanceof WardenError ? err.exitCode : 1;
  process.stderr.write(`warden: ${errorMessage(err)}\n`);
  process.exitCode = code;
}

/** Parses a `--run` value: a positive integer or `last`. */
export function parseRunRef(value: string): number | 'last' {
  if (value === 'last') return 'last';
  if (/^[1-9][0-9]*$/.test(value)) return Number(value);
  throw new WardenError(
    'bad-run',
    `--run takes a run id (a positive number) or "last", not ${JSON.stringify(value)}`,
    2,
  );
}

/** Formats a millisecond epoch as local `YYYY-MM-DD HH:MM:SS`. */
export function formatTime(ms: number | null | undefined): string {
  if (!ms) return '-';
  const d = new Date(ms);
  const p = (n: number) => String(n).padStart(2, '0');
  return `${d.getFullYear()}-${p(d.getMonth() + 1)}-${p(d.getDate())} ${p(d.getHours())}:${p(d.getMinutes())}:${p(d.getSeconds())}`;
}

/** Quotes an argv for display the way a shell would need it. */
export function showArgv(argv: readonly string[]): string {
  return argv.map((a) => (/^[\w@%+=:,./-]+$/.test(a) ? a : `'${a.replace(/'/g, `'\\''`)}'`)).join(' ');
}

/** Makes control characters in a path visible (a newline in a file name must not break a log line). */
export function showPath(p: string): string {
  // eslint-disable-next-line no-control-regex
  return p.replace(/[\x00-\x1f\x7f]/g, (c) => `\\x${c.charCodeAt(0).toString(16).padStart(2, '0')}`);
}
