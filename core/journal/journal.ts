// The durable journal: one SQLite database (state/journal.db), WAL mode, one writer (the daemon).
import Database from 'better-sqlite3';
import { eventFrom, j, preToJson, runFrom, unj, type Row, type Signal } from './rows.js';
import { migrate } from './schema.js';
import type { EventRow, NewEvent, ProcessRow, RollbackRow, RunRow, RunStatus, RunSummary } from './types.js';

export { preFromJson, preToJson } from './rows.js';

export type * from './types.js';

/** Typed access to journal.db. All methods are synchronous; errors are better-sqlite3 SqliteErrors. */
export class Journal {
  /** The underlying connection (shared with BlobStore so both write in one transaction). */
  readonly db: Database.Database;

  /** Opens (creating if needed) the journal at `dbPath` (e.g. `state/journal.db`) and migrates it. */
  constructor(dbPath: string) {
    this.db = new Database(dbPath);
    this.db.pragma('journal_mode = WAL');
    this.db.pragma('synchronous = NORMAL');
    this.db.pragma('foreign_keys = ON');
    migrate(this.db);
  }

  private readonly stmts = new Map<string, Database.Statement>();

  /** A cached prepared statement. */
  private q(sql: string): Database.Statement {
    let st = this.stmts.get(sql);
    if (!st) this.stmts.set(sql, (st = this.db.prepare(sql)));
    return st;
  }

  /** Closes the connection. */
  close(): void {
    this.db.close();
  }

  /** Runs `fn` in one transaction (nested calls become savepoints); rethrows after rolling back. */
  transaction<T>(fn: () => T): T {
    return this.db.transaction(fn)();
  }

  /** Creates a run row with status 'running' and returns its id (`id` may be given, e.g. by the daemon). */
  createRun(r: {
    id?: number;
    startedAt?: number;
    argv?: string[];
    cwd?: string;
    workspace?: string;
  }): number {
    const info = this.q('INSERT INTO runs (id, started_at, argv, cwd, workspace) VALUES (?, ?, ?, ?, ?)').run(
      r.id ?? null,
      r.startedAt ?? Date.now(),
      JSON.stringify(r.argv ?? []),
      r.cwd ?? null,
      r.workspace ?? null,
    );
    return Number(info.lastInsertRowid);
  }

  /**
   * Records the end of a run: final status (default 'ended'), exit code / signal (number or name), summary
   * object, end time (ms). Fields left undefined keep what the helper's `end` line recorded.
   */
  endRun(
    id: number,
    e: { status?: RunStatus; exitCode?: number | null; signal?: Signal; summary?: unknown; endedAt?: number },
  ): void {
    this.q(
      `UPDATE runs SET status = ?, exit_code = coalesce(?, exit_code), signal = coalesce(?, signal),
         summary = coalesce(?, summary), ended_at = coalesce(ended_at, ?) WHERE id = ?`,
    ).run(
      e.status ?? 'ended',
      e.exitCode ?? null,
      e.signal ?? null,
      j(e.summary),
      e.endedAt ?? Date.now(),
      id,
    );
  }

  /** Records the helper's `start` line: helper and root pids (and the start time if given). */
  setRunStart(id: number, s: { helperPid: number; rootPid: number; startedAt?: number }): void {
    this.q(
      'UPDATE runs SET helper_pid = ?, root_pid = ?, started_at = coalesce(?, started_at) WHERE id = ?',
    ).run(s.helperPid, s.rootPid, s.startedAt ?? null, id);
  }

  /** Sets how many bytes of the run's events.ndjson have been ingested. */
  setLogOffset(id: number, offset: number): void {
    this.q('UPDATE runs SET log_offset = ? WHERE id = ?').run(offset, id);
  }

  /** The run with this id, or the most recent run for 'last'; undefined if none. */
  getRun(id: number | 'last'): RunRow | undefined {
    const r =
      id === 'last'
        ? this.q('SELECT * FROM runs ORDER BY id DESC LIMIT 1').get()
        : this.q('SELECT * FROM runs WHERE id = ?').get(id);
    return r ? runFrom(r as Row) : undefined;
  }

  /** Runs, newest first (`limit` default 50). */
  listRuns(o: { limit?: number } = {}): RunRow[] {
    const rows = this.q('SELECT * FROM runs ORDER BY id DESC LIMIT ?').all(o.limit ?? 50) as Row[];
    return rows.map(runFrom);
  }

  /** Inserts one event; a duplicate (run, seq) is ignored. Returns true if a row was inserted. */
  insertEvent(e: NewEvent): boolean {
    const info = this
      .q(
        `INSERT OR IGNORE INTO events (run_id, seq, ts, pid, tid, op, sys, path, path2, flags, decision, rule_id,
         band, errno, pre, pre_sha, pre2, argv) VALUES (?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?)`,
      )
      .run(e.runId, e.seq, e.ts, e.pid, e.tid, e.op, e.sys, e.path, e.path2, e.flags, e.decision, e.ruleId, e.band,
        e.errno, preToJson(e.pre), e.preSha, preToJson(e.pre2), j(e.argv)); // prettier-ignore
    return info.changes > 0;
  }

  /** Inserts one `proc` record. */
  insertProcess(p: ProcessRow): void {
    this.q('INSERT INTO processes (run_id, pid, ppid, argv, exe, cwd, ts) VALUES (?,?,?,?,?,?,?)').run(
      p.runId,
      p.pid,
      p.ppid,
      JSON.stringify(p.argv),
      p.exe,
      p.cwd,
      p.ts,
    );
  }

  /** Inserts one fault (something the helper or ingest could not do). */
  insertFault(runId: number, ts: number, what: string): void {
    this.q('INSERT INTO faults (run_id, ts, what) VALUES (?,?,?)').run(runId, ts, what);
  }

  /** The run's faults in insertion order. */
  faults(runId: number): { ts: number; what: string }[] {
    return this.q('SELECT ts, what FROM faults WHERE run_id = ? ORDER BY id').all(runId) as {
      ts: number;
      what: string;
    }[];
  }

  /** Events of a run in seq order, optionally after a seq, of one op, at most `limit`. */
  events(runId: number, o: { afterSeq?: number; limit?: number; op?: string } = {}): EventRow[] {
    const rows = this.q(
      `SELECT * FROM events WHERE run_id = ? AND seq > ? AND (? IS NULL OR op = ?) ORDER BY seq LIMIT ?`,
    ).all(runId, o.afterSeq ?? 0, o.op ?? null, o.op ?? null, o.limit ?? -1) as Row[];
    return rows.map(eventFrom);
  }

  /** True if the run has an event with this seq. */
  hasEvent(runId: number, seq: number): boolean {
    return this.q('SELECT 1 FROM events WHERE run_id = ? AND seq = ?').get(runId, seq) !== undefined;
  }

  /** Highest ingested seq of a run (0 if none). */
  maxSeq(runId: number): number {
    const r = this.q('SELECT max(seq) AS m FROM events WHERE run_id = ?').get(runId) as { m: number | null };
    return r.m ?? 0;
  }

  /** The process chain from `pid` up to the run's root process: [{pid, argv}], `pid` first. */
  processChain(runId: number, pid: number): { pid: number; argv: string[] }[] {
    const q = this.q('SELECT pid, ppid, argv FROM processes WHERE run_id = ? AND pid = ? ORDER BY id DESC');
    const root = this.getRun(runId)?.rootPid ?? null;
    const out: { pid: number; argv: string[] }[] = [];
    const seen = new Set<number>();
    for (let p: number | null = pid; p !== null && !seen.has(p);) {
      seen.add(p);
      const r = q.get(runId, p) as { pid: number; ppid: number | null; argv: string } | undefined;
      if (!r) break;
      out.push({ pid: r.pid, argv: JSON.parse(r.argv) as string[] });
      if (p === root) break;
      p = r.ppid;
    }
    return out;
  }

  /** Counts for a run; see RunSummary. */
  runSummary(runId: number): RunSummary {
    return this.q(
      `SELECT count(*) AS events,
          coalesce(sum(decision <> 'allow'), 0) AS denied,
          coalesce(sum(pre_sha IS NOT NULL), 0) AS preimages,
          coalesce(sum(decision = 'allow' AND errno = 0 AND
            (op = 'connect' OR json_extract(pre, '$.kind') = 'toolarge')), 0) AS irreversible
         FROM events WHERE run_id = ?`,
    ).get(runId) as RunSummary;
  }

  /** Records a rollback (status e.g. 'applying') and returns its id. */
  insertRollback(runId: number, plan: unknown, status: string): number {
    const info = this.q('INSERT INTO rollbacks (run_id, created_at, plan, status) VALUES (?,?,?,?)').run(
      runId,
      Date.now(),
      JSON.stringify(plan),
      status,
    );
    return Number(info.lastInsertRowid);
  }

  /** Stores a rollback's result and final status. */
  finishRollback(id: number, result: unknown, status: string): void {
    this.q('UPDATE rollbacks SET result = ?, status = ? WHERE id = ?').run(
      JSON.stringify(result),
      status,
      id,
    );
  }

  /** One rollback record, or undefined. */
  getRollback(id: number): RollbackRow | undefined {
    const r = this.q('SELECT * FROM rollbacks WHERE id = ?').get(id) as Row | undefined;
    if (!r) return undefined;
    const [runId, createdAt, plan, result, status] = [
      r.run_id,
      r.created_at,
      unj(r.plan),
      unj(r.result),
      r.status,
    ];
    return {
      id,
      runId: runId as number,
      createdAt: createdAt as number,
      plan,
      result,
      status: status as string,
    };
  }
}
