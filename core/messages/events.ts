/**
 * Journals what the queue and the MCP gateway do as events of the run they belong to (`message` and
 * `mcp_call` ops, DESIGN.md vocabulary), in the main journal so they are chained, HMAC'd and on the Timeline.
 *
 * The helper numbers a run's events 1, 2, 3…; events the daemon itself writes take sequence numbers from
 * DAEMON_SEQ_BASE up (the next one above the run's highest), so they can never collide with a helper line
 * ingested later (ingest drops a duplicate (run, seq)). The Timeline orders by seq, so they sort after the
 * helper's events of the same run; their `ts` gives the true order.
 */
import type { Journal } from '../journal/journal.js';

/** First sequence number of daemon-written events (2^40: far above any helper count). */
export const DAEMON_SEQ_BASE = 2 ** 40;

export interface DaemonEvent {
  run: number;
  pid: number | null;
  op: 'message' | 'mcp_call';
  /** What it is about: `smtp:<to>` / `mcp:<server>/<tool>`. */
  path: string;
  /** allow / deny / delay (queued: held until release) */
  decision: string;
  rule: string;
  band: string;
  /** 0 = it happened / was allowed; an errno-like code otherwise (1 = failed). */
  errno?: number;
  /** Extra words (state, message id, arguments as JSON), redacted by the journal like any argv. */
  argv: string[];
}

/**
 * Writes one event for `e.run`. Returns false (and writes nothing) when the run is not in the journal.
 * Never throws: a journal failure is reported through `log` and must not fail the send.
 */
export function journalEvent(j: Journal, e: DaemonEvent, log: (line: string) => void): boolean {
  try {
    if (!j.getRun(e.run)) return false;
    const seq = Math.max(j.maxSeq(e.run) + 1, DAEMON_SEQ_BASE);
    return j.insertEvent({
      runId: e.run,
      seq,
      ts: Date.now(),
      pid: e.pid ?? 0,
      tid: e.pid ?? 0,
      op: e.op,
      sys: null,
      path: e.path,
      path2: null,
      flags: null,
      decision: e.decision,
      ruleId: e.rule,
      band: e.band,
      errno: e.errno ?? 0,
      pre: null,
      preSha: null,
      pre2: null,
      argv: e.argv,
    });
  } catch (err) {
    log(`messages: could not journal a ${e.op} event of run ${e.run}: ${String(err)}`);
    return false;
  }
}
