// Row <-> object mapping for the journal tables, and the stored form of pre-image descriptors.
import { PreSchema, type FsPath, type Pre } from '../wire/events.js';
import type { EventRow, RunRow, RunStatus } from './types.js';

export type Row = Record<string, unknown>;
export type Signal = number | string | null;
export const j = (v: unknown): string | null => (v === null || v === undefined ? null : JSON.stringify(v));
export const unj = <T>(v: unknown): T | null => (typeof v === 'string' ? (JSON.parse(v) as T) : null);
const fsPathOut = (v: unknown): FsPath | null => (v === null || v === undefined ? null : (v as FsPath));

/** Serialises a pre-image descriptor in wire form (a Buffer `target` becomes `target_hex`). */
export function preToJson(pre: Pre | null | undefined): string | null {
  if (!pre) return null;
  const { target, ...rest } = pre;
  if (Buffer.isBuffer(target)) return JSON.stringify({ ...rest, target_hex: target.toString('hex') });
  return JSON.stringify(pre);
}

/** Parses a pre-image descriptor stored by preToJson. */
export function preFromJson(s: unknown): Pre | null {
  if (typeof s !== 'string') return null;
  const o = JSON.parse(s) as Record<string, unknown>;
  if (typeof o.target_hex === 'string') {
    o.target = Buffer.from(o.target_hex, 'hex');
    delete o.target_hex;
  }
  return PreSchema.parse(o);
}

/** Maps a `runs` row. */
export function runFrom(r: Row): RunRow {
  return {
    id: r.id as number,
    startedAt: r.started_at as number,
    endedAt: (r.ended_at as number | null) ?? null,
    argv: unj<string[]>(r.argv) ?? [],
    cwd: (r.cwd as string | null) ?? null,
    workspace: (r.workspace as string | null) ?? null,
    status: r.status as RunStatus,
    exitCode: (r.exit_code as number | null) ?? null,
    signal: (r.signal as Signal) ?? null,
    summary: unj<Record<string, unknown>>(r.summary),
    helperPid: (r.helper_pid as number | null) ?? null,
    rootPid: (r.root_pid as number | null) ?? null,
    logOffset: r.log_offset as number,
  };
}

/** Maps an `events` row. */
export function eventFrom(r: Row): EventRow {
  return {
    id: r.id as number,
    runId: r.run_id as number,
    seq: r.seq as number,
    ts: r.ts as number,
    pid: r.pid as number,
    tid: r.tid as number,
    op: r.op as string,
    sys: r.sys as string | null,
    path: fsPathOut(r.path),
    path2: fsPathOut(r.path2),
    flags: r.flags as number | null,
    decision: r.decision as string,
    ruleId: r.rule_id as string | null,
    band: r.band as string | null,
    errno: r.errno as number,
    pre: preFromJson(r.pre),
    preSha: r.pre_sha as string | null,
    pre2: preFromJson(r.pre2),
    argv: unj<string[]>(r.argv),
    holdId: (r.hold_id as number | null) ?? null,
    holdBy: (r.hold_by as string | null) ?? null,
    heldMs: (r.held_ms as number | null) ?? null,
    ...(r.bytes_up != null || r.bytes_down != null
      ? { bytesUp: r.bytes_up as number | null, bytesDown: r.bytes_down as number | null }
      : {}),
  };
}
