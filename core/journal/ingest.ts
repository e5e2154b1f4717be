// Ingest of a run's event log (helper/linux/WIRE.md §2) into the journal.
//
// Crash safety: one batch = one transaction that inserts the rows, links pre-images into the blob store and
// advances runs.log_offset. Stage files are removed only after the commit. A crash before the commit leaves the
// offset and the stage files as they were (a blob file already linked is reused by the retry); a crash after it
// leaves stale stage files, which the next ingest removes (those whose seq is already journaled).
import * as fs from 'node:fs';
import { join } from 'node:path';
import type { BlobStore } from '../blobs/store.js';
import { parseEventLine, type EvLine, type EventLine } from '../wire/events.js';
import type { Journal } from './journal.js';

const BATCH_BYTES = 32 << 20; // at most this much log per transaction

export interface IngestOptions {
  runId: number;
  /** state/runs/<run>/events.ndjson */
  eventsPath: string;
  /** state/stage/<run> */
  stageDir: string;
}

/** `lines`: complete lines consumed; `events`: `ev` rows inserted. */
export interface IngestResult {
  lines: number;
  events: number;
}

/** Removes stage files whose event is already journaled (left by a crash between commit and cleanup). */
function removeStaleStage(j: Journal, runId: number, stageDir: string): void {
  const maxSeq = j.maxSeq(runId);
  let names: string[];
  try {
    names = fs.readdirSync(stageDir);
  } catch {
    return;
  }
  for (const n of names) {
    const seq = Number(n);
    if (/^\d+$/.test(n) && seq <= maxSeq && j.hasEvent(runId, seq))
      fs.rmSync(join(stageDir, n), { force: true });
  }
}

function storePreimage(
  j: Journal,
  blobs: BlobStore,
  runId: number,
  ev: EvLine,
  stageDir: string,
  done: string[],
) {
  const kind = ev.pre?.kind;
  if (kind !== 'link' && kind !== 'copy') return null;
  // A steered delete (WIRE.md §3) moved the file into the run's trash instead of staging a link: the trash
  // file is its pre-image, taken into the blob store like a stage file.
  const trash = (ev.pre as { trash?: unknown } | null)?.trash;
  const staged = typeof trash === 'string' && trash.startsWith('/') ? trash : join(stageDir, String(ev.seq));
  try {
    const sha = blobs.putStaged(staged).sha;
    done.push(staged);
    return sha;
  } catch (e) {
    if ((e as NodeJS.ErrnoException).code !== 'ENOENT') throw e;
    if (ev.err !== 0) return null; // failed op: the helper removed its stage file
    j.insertFault(runId, ev.ts, `pre-image missing for seq ${ev.seq} (stage file ${staged})`);
    return null;
  }
}

function apply(j: Journal, blobs: BlobStore, o: IngestOptions, l: EventLine, stageDone: string[]): number {
  const runId = o.runId;
  switch (l.t) {
    case 'start':
      j.setRunStart(runId, { helperPid: l.helper_pid, rootPid: l.pid, startedAt: l.ts });
      return 0;
    case 'proc':
      j.insertProcess({
        runId,
        pid: l.pid,
        ppid: l.ppid,
        argv: l.argv,
        exe: l.exe ?? null,
        cwd: l.cwd ?? null,
        ts: l.ts,
      });
      return 0;
    case 'fault':
      j.insertFault(runId, l.ts, l.what);
      return 0;
    case 'end': {
      const { t: _t, ts: _ts, status, signal, ...summary } = l;
      j.endRun(runId, { status: 'ended', exitCode: status, signal, summary, endedAt: l.ts });
      return 0;
    }
    case 'ev': {
      const preSha = storePreimage(j, blobs, runId, l, o.stageDir, stageDone);
      const inserted = j.insertEvent({
        runId, seq: l.seq, ts: l.ts, pid: l.pid, tid: l.tid, op: l.op, sys: l.sys, path: l.path,
        path2: l.path2 ?? null, flags: l.flags ?? null, decision: l.decision, ruleId: l.rule ?? null,
        band: l.band ?? null, errno: l.err, pre: l.pre ?? null, preSha, pre2: l.pre2 ?? null, argv: l.argv ?? null,
        holdId: typeof l.hold === 'number' ? l.hold : null, holdBy: l.by ?? null, heldMs: l.held_ms ?? null,
      }); // prettier-ignore
      if (!inserted && preSha) blobs.release(preSha);
      return inserted ? 1 : 0;
    }
  }
}

/**
 * Ingests the complete lines of a run's events.ndjson past the run's `log_offset` (creating the run row if
 * the journal has none). A partial last line is left for the next call. A complete line that does not parse is
 * journaled as a fault and skipped. Safe to call again at any time, including after a crash.
 * @throws fs errors other than a missing log file, and SQLite errors (nothing of the batch is committed).
 */
export function ingestRun(journal: Journal, blobs: BlobStore, o: IngestOptions): IngestResult {
  if (!journal.getRun(o.runId)) journal.createRun({ id: o.runId });
  removeStaleStage(journal, o.runId, o.stageDir);
  let fd: number;
  try {
    fd = fs.openSync(o.eventsPath, 'r');
  } catch (e) {
    if ((e as NodeJS.ErrnoException).code === 'ENOENT') return { lines: 0, events: 0 };
    throw e;
  }
  const total: IngestResult = { lines: 0, events: 0 };
  try {
    for (;;) {
      const offset = journal.getRun(o.runId)?.logOffset ?? 0;
      const size = fs.fstatSync(fd).size;
      if (size <= offset) break;
      const buf = Buffer.allocUnsafe(Math.min(size - offset, BATCH_BYTES));
      const n = fs.readSync(fd, buf, 0, buf.length, offset);
      const end = buf.subarray(0, n).lastIndexOf(0x0a) + 1;
      if (end === 0) break; // no complete line yet
      const text = buf.toString('utf8', 0, end);
      const stageDone: string[] = [];
      const r = journal.transaction(() => {
        const res: IngestResult = { lines: 0, events: 0 };
        for (const line of text.split('\n')) {
          if (line === '') continue;
          res.lines++;
          let parsed: EventLine;
          try {
            parsed = parseEventLine(line);
          } catch (e) {
            journal.insertFault(o.runId, Date.now(), `ingest: ${(e as Error).message}`);
            continue;
          }
          res.events += apply(journal, blobs, o, parsed, stageDone);
        }
        journal.setLogOffset(o.runId, offset + end);
        return res;
      });
      for (const p of stageDone) {
        try {
          fs.unlinkSync(p);
        } catch {
          /* already gone */
        }
      }
      total.lines += r.lines;
      total.events += r.events;
    }
  } finally {
    fs.closeSync(fd);
  }
  return total;
}

/**
 * Daemon start: ingests every run that is still 'running' or whose events.ndjson has bytes past its
 * log_offset, plus run directories under `state/runs/` the journal does not know yet.
 * Returns the total number of lines ingested.
 */
export function ingestAll(journal: Journal, blobs: BlobStore, stateDir: string): number {
  let total = 0;
  const runsDir = join(stateDir, 'runs');
  let ids: number[] = [];
  try {
    ids = fs
      .readdirSync(runsDir)
      .filter((n) => /^\d+$/.test(n))
      .map(Number);
  } catch {
    /* no runs yet */
  }
  for (const r of journal.listRuns({ limit: -1 })) if (!ids.includes(r.id)) ids.push(r.id);
  for (const id of ids.sort((a, b) => a - b)) {
    const eventsPath = join(runsDir, String(id), 'events.ndjson');
    const run = journal.getRun(id);
    let size = 0;
    try {
      size = fs.statSync(eventsPath).size;
    } catch {
      /* no log */
    }
    if (run && run.status !== 'running' && size <= run.logOffset) continue;
    total += ingestRun(journal, blobs, {
      runId: id,
      eventsPath,
      stageDir: join(stateDir, 'stage', String(id)),
    }).lines;
  }
  return total;
}
