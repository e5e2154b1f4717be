// Zod schemas for the event log written by warden-supervise (helper/linux/WIRE.md §2).
//
// Path representation: the wire writes a string field `f` as `"f":"…"` when it is valid UTF-8 and as
// `"f_hex":"<hex>"` otherwise. After parsing, every path-like field (`path`, `path2`, `exe`, `cwd`,
// `target`) is an `FsPath`: a `string` for UTF-8 names, a `Buffer` holding the exact bytes otherwise. Node's
// fs functions accept both, so the bytes reach the kernel unchanged. Display-only fields (`argv`, `what`,
// `rule`, …) are decoded lossily to strings (invalid UTF-8 becomes U+FFFD).
import { z } from 'zod';

/** A filesystem path: UTF-8 text as a string, any other byte sequence as a Buffer of the exact bytes. */
export type FsPath = string | Buffer;

const PATH_FIELDS = ['path', 'path2', 'exe', 'cwd', 'target'] as const;
const TEXT_FIELDS = ['what', 'rule', 'band', 'sys', 'op', 'hold'] as const;
const HEX = /^(?:[0-9a-f]{2})*$/;

function unhex(v: unknown, field: string): Buffer {
  if (typeof v !== 'string' || !HEX.test(v)) throw new Error(`${field}_hex: expected lowercase hex string`);
  return Buffer.from(v, 'hex');
}

/** Replaces `f_hex` fields of a wire object by decoded `f` fields (in place); recurses into pre/pre2. */
function decodeHexFields(o: Record<string, unknown>): void {
  for (const f of PATH_FIELDS) {
    const k = `${f}_hex`;
    if (k in o) {
      o[f] = unhex(o[k], f);
      delete o[k];
    }
  }
  for (const f of TEXT_FIELDS) {
    const k = `${f}_hex`;
    if (k in o) {
      o[f] = unhex(o[k], f).toString('utf8');
      delete o[k];
    }
  }
  if ('argv_hex' in o) {
    const a = o.argv_hex;
    if (!Array.isArray(a)) throw new Error('argv_hex: expected an array');
    o.argv = a.map((s, i) => unhex(s, `argv[${i}]`).toString('utf8'));
    delete o.argv_hex;
  } else if (Array.isArray(o.argv)) {
    // Mixed form: individual non-UTF-8 elements written as {"hex":"…"}.
    o.argv = o.argv.map((s: unknown) =>
      s !== null && typeof s === 'object' && 'hex' in s
        ? unhex((s as { hex: unknown }).hex, 'argv').toString()
        : s,
    );
  }
  for (const p of ['pre', 'pre2']) {
    const v = o[p];
    if (v !== null && typeof v === 'object' && !Array.isArray(v))
      decodeHexFields(v as Record<string, unknown>);
  }
}

const fsPath = z.union([z.string(), z.instanceof(Buffer)]);
const int = z.number().int();
const timespec = z.tuple([int, int]);

/** Pre-image descriptor (`pre` / `pre2`). `mtime`/`atime` are [seconds, nanoseconds]. */
export const PreSchema = z.looseObject({
  kind: z.enum(['link', 'copy', 'meta', 'toolarge', 'none']),
  type: z.enum(['file', 'dir', 'symlink', 'fifo', 'other']).optional(),
  mode: int.optional(),
  uid: int.optional(),
  gid: int.optional(),
  size: int.optional(),
  mtime: timespec.optional(),
  atime: timespec.optional(),
  target: fsPath.nullable().optional(),
  dev: int.optional(),
  ino: int.optional(),
  nlink: int.optional(),
});
export type Pre = z.infer<typeof PreSchema>;

export const StartLineSchema = z.looseObject({
  t: z.literal('start'),
  run: int,
  pid: int,
  helper_pid: int,
  ts: int,
  landlock: int.optional(),
  seccomp: z.boolean().optional(),
});
export const ProcLineSchema = z.looseObject({
  t: z.literal('proc'),
  pid: int,
  ppid: int,
  argv: z.array(z.string()),
  exe: fsPath.nullable().optional(),
  cwd: fsPath.nullable().optional(),
  ts: int,
});
/** `read` only from watch mode: an open of a state dir or the shadow that warden-watch refused (WIRE.md §5.3). */
export const OPS = [
  'read',
  'write',
  'create',
  'delete',
  'rename',
  'mkdir',
  'chmod',
  'exec',
  'connect',
] as const;
export const EvLineSchema = z.looseObject({
  t: z.literal('ev'),
  seq: int.positive(),
  ts: int,
  pid: int,
  tid: int,
  op: z.enum(OPS),
  sys: z.string(),
  path: fsPath.nullable(),
  path2: fsPath.nullable().optional(),
  flags: int.optional(),
  decision: z.enum(['allow', 'deny', 'ask', 'delay', 'steer']),
  rule: z.string().nullable().optional(),
  band: z.string().nullable().optional(),
  err: int.nonnegative(),
  /** The hold that decided this call (§3): its id, or "unsupported" for a steer the helper cannot hold. */
  hold: z.union([int.positive(), z.string()]).optional(),
  /** Who ended the hold: "person" | "policy" | "timeout" | "no-daemon". */
  by: z.string().optional(),
  held_ms: int.nonnegative().optional(),
  pre: PreSchema.nullable().optional(),
  pre2: PreSchema.nullable().optional(),
  argv: z.array(z.string()).nullable().optional(),
});
export const EndLineSchema = z.looseObject({
  t: z.literal('end'),
  ts: int,
  status: int,
  signal: int,
  events: int.optional(),
  denied: int.optional(),
  preimages: int.optional(),
});
export const FaultLineSchema = z.looseObject({ t: z.literal('fault'), ts: int, what: z.string() });

export type StartLine = z.infer<typeof StartLineSchema>;
export type ProcLine = z.infer<typeof ProcLineSchema>;
export type EvLine = z.infer<typeof EvLineSchema>;
export type EndLine = z.infer<typeof EndLineSchema>;
export type FaultLine = z.infer<typeof FaultLineSchema>;
/** One parsed line of events.ndjson, discriminated by `t`. */
export type EventLine = StartLine | ProcLine | EvLine | EndLine | FaultLine;

const BY_TYPE = {
  start: StartLineSchema,
  proc: ProcLineSchema,
  ev: EvLineSchema,
  end: EndLineSchema,
  fault: FaultLineSchema,
} as const;

/**
 * Parses one event-log line (without or with its trailing newline).
 * @throws Error whose message names the line type, seq (if any) and the offending field.
 */
export function parseEventLine(line: string): EventLine {
  let raw: unknown;
  try {
    raw = JSON.parse(line);
  } catch (e) {
    throw new Error(`event line is not valid JSON (${(e as Error).message}): ${line.slice(0, 120)}`);
  }
  if (raw === null || typeof raw !== 'object' || Array.isArray(raw))
    throw new Error('event line is not an object');
  const o = raw as Record<string, unknown>;
  const t = o.t;
  if (typeof t !== 'string' || !(t in BY_TYPE))
    throw new Error(`event line has unknown type t=${JSON.stringify(t)}`);
  const where = `event line t=${t}${typeof o.seq === 'number' ? ` seq=${o.seq}` : ''}`;
  try {
    decodeHexFields(o);
  } catch (e) {
    throw new Error(`${where}: ${(e as Error).message}`);
  }
  const r = BY_TYPE[t as keyof typeof BY_TYPE].safeParse(o);
  if (!r.success) {
    const msg = r.error.issues.map((i) => `${i.path.join('.') || '(root)'}: ${i.message}`).join('; ');
    throw new Error(`${where}: ${msg}`);
  }
  return r.data as EventLine;
}

/** Encodes an FsPath back into wire form: `{[field]: text}` or `{[field_hex]: hex}` for Buffers. */
export function encodePathField(field: string, p: FsPath | null | undefined): Record<string, unknown> {
  if (p === undefined) return {};
  if (Buffer.isBuffer(p)) return { [`${field}_hex`]: p.toString('hex') };
  return { [field]: p };
}

/** Turns a byte sequence into an FsPath: a string when it is valid UTF-8, else the Buffer itself. */
export function bytesToFsPath(b: Buffer): FsPath {
  const s = b.toString('utf8');
  return Buffer.from(s, 'utf8').equals(b) ? s : b;
}
