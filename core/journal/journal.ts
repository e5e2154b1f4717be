// The durable journal: one SQLite database (state/journal.db), WAL mode, one writer (the daemon).
import Database from 'better-sqlite3';
import { dirname, join } from 'node:path';
import {
  canonical,
  GENESIS,
  headHmac,
  loadJournalKey,
  rollbackStateHmac,
  rowHmac,
  contentValues,
  CONTENT,
  sealExisting,
  verifyChains,
  type ChainedTable,
  type VerifyResult,
} from './chain.js';
import { redactArgv, redactText } from './redact.js';
import { eventFrom, j, preToJson, runFrom, unj, type Row, type Signal } from './rows.js';
import { migrate } from './schema.js';
import type { EventRow, NewEvent, ProcessRow, RollbackRow, RunRow, RunStatus, RunSummary } from './types.js';

export { preFromJson, preToJson } from './rows.js';

export type * from './types.js';

/** Typed access to journal.db. All methods are synchronous; errors are better-sqlite3 SqliteErrors. */
export class Journal {
  /** The underlying connection (shared with BlobStore so both write in one transaction). */
  readonly db: Database.Database;

  /** The HMAC key (state/journal.key). A private field: it never shows up in a dump of this object. */
  readonly #key: Buffer;
  /** Chained tables written inside the current transaction() whose head is written at its end. */
  private readonly dirtyHeads = new Set<ChainedTable>();
  private depth = 0;

  /**
   * Opens (creating if needed) the journal at `dbPath` (e.g. `state/journal.db`) and migrates it. The HMAC
   * key is `keyPath` (default `journal.key` beside the database), created 0600 on first use.
   */
  constructor(dbPath: string, o: { keyPath?: string } = {}) {
    this.#key = loadJournalKey(o.keyPath ?? join(dirname(dbPath), 'journal.key'));
    this.db = new Database(dbPath);
    this.db.pragma('journal_mode = WAL');
    this.db.pragma('synchronous = NORMAL');
    this.db.pragma('foreign_keys = ON');
    migrate(this.db);
    const pending = this.db.prepare('SELECT pending FROM chain_meta').get() as
      { pending: number } | undefined;
    if (pending?.pending) {
      this.db.transaction(() => {
        sealExisting(this.db, this.#key);
        this.db.prepare('UPDATE chain_meta SET pending = 0').run();
      })();
    }
  }

  /** Checks the hash chains and HMACs of events, processes and rollbacks (see chain.ts). */
  verify(): VerifyResult {
    return verifyChains(this.db, this.#key);
  }

  /** prev_hash for the next row of `t`: the hmac of its newest row, or the genesis hash. */
  private tip(t: ChainedTable): Buffer {
    const trusted = this.depth > 0 || !this.db.inTransaction;
    const cached = trusted ? this.tips.get(t) : undefined;
    if (cached) return cached;
    const r = this.q(`SELECT hmac FROM ${t} ORDER BY id DESC LIMIT 1`).get() as
      { hmac: Buffer | null } | undefined;
    return r?.hmac ?? GENESIS;
  }

  /**
   * hmac of the newest row per chained table, as written through this object. Trusted only outside
   * transactions or inside transaction() (which forgets it when a transaction fails); inside a transaction
   * someone else opened on `db`, the table is asked each time.
   */
  private readonly tips = new Map<ChainedTable, Buffer>();

  /** Records the new head of `t` (at once outside transaction(), else when it commits). */
  private advanced(t: ChainedTable, id: number, hmac: Buffer): void {
    if (this.depth > 0 || !this.db.inTransaction) this.tips.set(t, hmac);
    else this.tips.delete(t);
    if (this.depth > 0) this.dirtyHeads.add(t);
    else this.writeHead(t, id, hmac);
  }

  private writeHead(t: ChainedTable, id: number, hmac: Buffer): void {
    this.q('UPDATE chain_heads SET last_id = ?, last_hmac = ?, hmac = ? WHERE tbl = ?').run(
      id,
      hmac,
      headHmac(this.#key, t, id, hmac),
      t,
    );
  }

  /** Writes the heads of the tables changed in this transaction from their actual newest rows. */
  private flushHeads(): void {
    for (const t of this.dirtyHeads) {
      const r = this.q(`SELECT id, hmac FROM ${t} ORDER BY id DESC LIMIT 1`).get() as
        { id: number; hmac: Buffer } | undefined;
      this.writeHead(t, r?.id ?? 0, r?.hmac ?? GENESIS);
    }
    this.dirtyHeads.clear();
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
    try {
      return this.db.transaction(() => {
        this.depth++;
        try {
          const r = fn();
          if (this.depth === 1) this.flushHeads();
          return r;
        } finally {
          this.depth--;
        }
      })();
    } catch (e) {
      this.tips.clear(); // rolled back (to a savepoint, or a failed commit): cached tips may name lost rows
      throw e;
    }
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
      JSON.stringify(redactArgv(r.argv ?? [])),
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

  /**
   * Inserts one event (argv redacted), chained to the previous event row; a duplicate (run, seq) is ignored.
   * Returns true if a row was inserted.
   */
  insertEvent(e: NewEvent): boolean {
    const v = [e.runId, e.seq, e.ts, e.pid, e.tid, e.op, e.sys, e.path, e.path2, e.flags, e.decision, e.ruleId,
      e.band, e.errno, preToJson(e.pre), e.preSha, preToJson(e.pre2), e.argv ? j(redactArgv(e.argv)) : null]; // prettier-ignore
    const held = { hold_id: e.holdId ?? null, hold_by: e.holdBy ?? null, held_ms: e.heldMs ?? null };
    const covered = contentValues('events', {
      ...Object.fromEntries(CONTENT.events.map((c, i) => [c, v[i]])),
      ...held,
    });
    const prev = this.tip('events');
    const h = rowHmac(this.#key, 'events', canonical(covered), prev);
    const info = this.q(
      `INSERT OR IGNORE INTO events (run_id, seq, ts, pid, tid, op, sys, path, path2, flags, decision, rule_id,
         band, errno, pre, pre_sha, pre2, argv, hold_id, hold_by, held_ms, prev_hash, hmac)
         VALUES (?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?)`,
    ).run(...v, held.hold_id, held.hold_by, held.held_ms, prev, h);
    if (info.changes > 0) this.advanced('events', Number(info.lastInsertRowid), h);
    return info.changes > 0;
  }

  /**
   * Inserts one event journaled by the daemon itself (the egress proxy's `connect`, core/net), with bytes sent
   * up and received down, chained like insertEvent (NET_CONTENT joins the HMAC). `seq` must not collide with
   * the helper's: callers use their own range. Returns true if a row was inserted.
   */
  insertNetEvent(e: NewEvent & { bytesUp: number; bytesDown: number }): boolean {
    const v = [e.runId, e.seq, e.ts, e.pid, e.tid, e.op, e.sys, e.path, e.path2, e.flags, e.decision, e.ruleId,
      e.band, e.errno, preToJson(e.pre), e.preSha, preToJson(e.pre2), e.argv ? j(redactArgv(e.argv)) : null]; // prettier-ignore
    const extra = {
      hold_id: e.holdId ?? null,
      hold_by: e.holdBy ?? null,
      held_ms: e.heldMs ?? null,
      bytes_up: e.bytesUp,
      bytes_down: e.bytesDown,
    };
    const covered = contentValues('events', {
      ...Object.fromEntries(CONTENT.events.map((c, i) => [c, v[i]])),
      ...extra,
    });
    const prev = this.tip('events');
    const h = rowHmac(this.#key, 'events', canonical(covered), prev);
    const info = this.q(
      `INSERT OR IGNORE INTO events (run_id, seq, ts, pid, tid, op, sys, path, path2, flags, decision, rule_id,
         band, errno, pre, pre_sha, pre2, argv, hold_id, hold_by, held_ms, bytes_up, bytes_down, prev_hash, hmac)
         VALUES (?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?)`,
    ).run(...v, ...Object.values(extra), prev, h);
    if (info.changes > 0) this.advanced('events', Number(info.lastInsertRowid), h);
    return info.changes > 0;
  }

  /** Inserts one `proc` record (argv redacted), chained to the previous process row. */
  insertProcess(p: ProcessRow): void {
    const v = [p.runId, p.pid, p.ppid, JSON.stringify(redactArgv(p.argv)), p.exe, p.cwd, p.ts];
    const prev = this.tip('processes');
    const h = rowHmac(this.#key, 'processes', canonical(v), prev);
    const info = this.q(
      'INSERT INTO processes (run_id, pid, ppid, argv, exe, cwd, ts, prev_hash, hmac) VALUES (?,?,?,?,?,?,?,?,?)',
    ).run(...v, prev, h);
    this.advanced('processes', Number(info.lastInsertRowid), h);
  }

  /** Inserts one fault (something the helper or ingest could not do); secrets in the text are redacted. */
  insertFault(runId: number, ts: number, what: string): void {
    this.q('INSERT INTO faults (run_id, ts, what) VALUES (?,?,?)').run(runId, ts, redactText(what));
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
          coalesce(sum(decision = 'deny'), 0) AS denied,
          coalesce(sum(pre_sha IS NOT NULL), 0) AS preimages,
          coalesce(sum(decision = 'allow' AND errno = 0 AND
            (op = 'connect' OR json_extract(pre, '$.kind') = 'toolarge')), 0) AS irreversible
         FROM events WHERE run_id = ?`,
    ).get(runId) as RunSummary;
  }

  /** Records a rollback (status e.g. 'applying') and returns its id. */
  insertRollback(runId: number, plan: unknown, status: string): number {
    const v = [runId, Date.now(), JSON.stringify(plan)];
    const prev = this.tip('rollbacks');
    const h = rowHmac(this.#key, 'rollbacks', canonical(v), prev);
    const info = this.q(
      'INSERT INTO rollbacks (run_id, created_at, plan, status, prev_hash, hmac, state_hmac) VALUES (?,?,?,?,?,?,?)',
    ).run(...v, status, prev, h, rollbackStateHmac(this.#key, h, null, status));
    const id = Number(info.lastInsertRowid);
    this.advanced('rollbacks', id, h);
    return id;
  }

  /** Stores a rollback's result and final status. */
  finishRollback(id: number, result: unknown, status: string): void {
    this.setRollbackState(id, JSON.stringify(result), status);
  }

  /** Changes a rollback's status (e.g. to 'undone'), keeping its result. */
  setRollbackStatus(id: number, status: string): void {
    const r = this.q('SELECT result FROM rollbacks WHERE id = ?').get(id) as
      { result: string | null } | undefined;
    if (!r) throw new Error(`no rollback ${id}`);
    this.setRollbackState(id, r.result, status);
  }

  private setRollbackState(id: number, result: string | null, status: string): void {
    const r = this.q('SELECT hmac FROM rollbacks WHERE id = ?').get(id) as
      { hmac: Buffer | null } | undefined;
    if (!r) throw new Error(`no rollback ${id}`);
    const sh = rollbackStateHmac(this.#key, r.hmac ?? GENESIS, result, status);
    this.q('UPDATE rollbacks SET result = ?, status = ?, state_hmac = ? WHERE id = ?').run(
      result,
      status,
      sh,
      id,
    );
  }

  /** The rollbacks of a run, oldest first. */
  rollbacks(runId: number): RollbackRow[] {
    const ids = this.q('SELECT id FROM rollbacks WHERE run_id = ? ORDER BY id').all(runId) as {
      id: number;
    }[];
    return ids.map((r) => this.getRollback(r.id) as RollbackRow);
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
