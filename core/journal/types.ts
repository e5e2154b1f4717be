// Row shapes returned by the Journal (core/journal/journal.ts). Times are milliseconds since the Unix epoch.
import type { FsPath, Pre } from '../wire/events.js';

export type RunStatus = 'running' | 'ended' | 'failed';

/** One supervised run. `logOffset` is the number of bytes of events.ndjson already ingested. */
export interface RunRow {
  id: number;
  startedAt: number;
  endedAt: number | null;
  argv: string[];
  cwd: string | null;
  workspace: string | null;
  status: RunStatus;
  exitCode: number | null;
  /** Signal number (from the helper's end line) or name (from the daemon), null if none. */
  signal: number | string | null;
  summary: Record<string, unknown> | null;
  helperPid: number | null;
  rootPid: number | null;
  logOffset: number;
}

/** One journaled `ev` line. `errno` 0 means the syscall succeeded. `preSha` names the pre-image blob. */
export interface EventRow {
  id: number;
  runId: number;
  seq: number;
  ts: number;
  pid: number;
  tid: number;
  op: string;
  sys: string | null;
  path: FsPath | null;
  path2: FsPath | null;
  flags: number | null;
  decision: string;
  ruleId: string | null;
  band: string | null;
  errno: number;
  pre: Pre | null;
  preSha: string | null;
  pre2: Pre | null;
  argv: string[] | null;
  /** For a held event (WIRE.md §3): the hold id, who ended it, and how long the syscall waited (ms). */
  holdId?: number | null;
  holdBy?: string | null;
  heldMs?: number | null;
  /** For a `connect` event journaled by the egress proxy (core/net): bytes sent up / received down. */
  bytesUp?: number | null;
  bytesDown?: number | null;
}

/** Input of Journal.insertEvent (what ingest derives from an `ev` line). */
export type NewEvent = Omit<EventRow, 'id'>;

/** One `proc` line: a process seen acting in the run (again after each exec). */
export interface ProcessRow {
  runId: number;
  pid: number;
  ppid: number | null;
  argv: string[];
  exe: FsPath | null;
  cwd: FsPath | null;
  ts: number;
}

/** Per-run counts; `irreversible` counts allowed, successful connects and `toolarge` pre-images. */
export interface RunSummary {
  events: number;
  denied: number;
  preimages: number;
  irreversible: number;
}

export interface RollbackRow {
  id: number;
  runId: number;
  createdAt: number;
  plan: unknown;
  result: unknown;
  status: string;
}

/** Whether an event's decision let the op (or its steered replacement) happen: `allow` or `steer`. */
export function tookEffect(decision: string): boolean {
  return decision === 'allow' || decision === 'steer';
}
