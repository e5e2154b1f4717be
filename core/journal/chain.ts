// Tamper evidence for the journal: every row of `events`, `processes` and `rollbacks` carries
//   prev_hash = the `hmac` of the previous row of the same table in insertion (id) order; 32 zero bytes first;
//   hmac      = HMAC-SHA256(key, table ‖ 0 ‖ canonical(content fields) ‖ prev_hash).
// The id itself is not hashed: a row's position is what the chain proves. `chain_heads` holds, per table, the
// last id and hmac with an HMAC of its own, so deleting the newest rows is caught too. Rollback rows are
// updated after insertion (result, status): their `hmac` covers the fields fixed at insertion and
// `state_hmac` = HMAC(key, 'rollbacks-state' ‖ 0 ‖ hmac ‖ canonical(result, status)) covers the rest.
// The key (32 random bytes, state/journal.key, 0600) never enters the database or a log.
import { createHash, randomBytes, type Hash } from 'node:crypto';
import * as fs from 'node:fs';
import type Database from 'better-sqlite3';

export const GENESIS: Buffer = Buffer.alloc(32);
export const CHAINED = ['events', 'processes', 'rollbacks'] as const;
export type ChainedTable = (typeof CHAINED)[number];

/** Content columns covered by `hmac`, per table, in canonical order. */
export const CONTENT: Record<ChainedTable, readonly string[]> = {
  events: ['run_id', 'seq', 'ts', 'pid', 'tid', 'op', 'sys', 'path', 'path2', 'flags', 'decision', 'rule_id',
    'band', 'errno', 'pre', 'pre_sha', 'pre2', 'argv'], // prettier-ignore
  processes: ['run_id', 'pid', 'ppid', 'argv', 'exe', 'cwd', 'ts'],
  rollbacks: ['run_id', 'created_at', 'plan'],
};

/**
 * Columns added after rows already existed: they join a row's HMAC only when at least one of them is set, so
 * rows written before they existed (all null) verify unchanged. events: who ended a hold (WIRE.md §3).
 */
export const OPTIONAL_CONTENT: Record<ChainedTable, readonly string[]> = {
  events: ['hold_id', 'hold_by', 'held_ms'],
  processes: [],
  rollbacks: [],
};

/**
 * A second tier of optional columns (schema v4): bytes up/down of a `connect` event journaled by the egress
 * proxy (core/net). When one is set, the row's HMAC covers OPTIONAL_CONTENT (nulls included) and these; rows
 * without them verify exactly as before.
 */
export const NET_CONTENT: Record<ChainedTable, readonly string[]> = {
  events: ['bytes_up', 'bytes_down'],
  processes: [],
  rollbacks: [],
};

/** The values a row's HMAC covers, in canonical order (see CONTENT, OPTIONAL_CONTENT and NET_CONTENT). */
export function contentValues(t: ChainedTable, r: Record<string, unknown>): unknown[] {
  const v = CONTENT[t].map((c) => r[c]);
  const opt = OPTIONAL_CONTENT[t].map((c) => r[c] ?? null);
  const net = NET_CONTENT[t].map((c) => r[c] ?? null);
  if (net.some((x) => x !== null)) return [...v, ...opt, ...net];
  return opt.some((x) => x !== null) ? [...v, ...opt] : v;
}

/** Column list for SELECTs that feed contentValues. */
function contentColumns(t: ChainedTable): string {
  return [...CONTENT[t], ...OPTIONAL_CONTENT[t], ...NET_CONTENT[t]].join(', ');
}

/**
 * Reads the journal key at `path`, creating it (32 random bytes, mode 0600, exclusive create) if missing.
 * @throws if the file exists with another size or cannot be read/created.
 */
export function loadJournalKey(path: string): Buffer {
  for (let attempt = 0; ; attempt++) {
    try {
      const k = fs.readFileSync(path);
      if (k.length !== 32) throw new Error(`journal key ${path} is ${k.length} bytes, expected 32`);
      return k;
    } catch (e) {
      if ((e as NodeJS.ErrnoException).code !== 'ENOENT' || attempt > 0) throw e;
    }
    const k = randomBytes(32);
    try {
      const fd = fs.openSync(path, fs.constants.O_WRONLY | fs.constants.O_CREAT | fs.constants.O_EXCL, 0o600);
      try {
        fs.writeSync(fd, k);
        fs.fsyncSync(fd);
      } finally {
        fs.closeSync(fd);
      }
      return k;
    } catch (e) {
      if ((e as NodeJS.ErrnoException).code !== 'EEXIST') throw e; // created concurrently: read it
    }
  }
}

/** Canonical serialization of column values: JSON, Buffers as {"x": hex} (TEXT and BLOB stay distinct). */
export function canonical(values: readonly unknown[]): string {
  let s = '[';
  for (let i = 0; i < values.length; i++) {
    const v = values[i];
    if (i) s += ',';
    s +=
      Buffer.isBuffer(v) || v instanceof Uint8Array
        ? `{"x":"${Buffer.from(v).toString('hex')}"}`
        : JSON.stringify(v ?? null);
  }
  return s + ']';
}

/**
 * HMAC-SHA256 (RFC 2104) with the key's inner and outer pad states hashed once and copied per message:
 * about 3x faster than createHmac per row, which matters at ingest (one HMAC per event).
 */
const pads = new WeakMap<Buffer, { inner: Hash; outer: Hash }>();
function hmacOf(key: Buffer, parts: (string | Buffer)[]): Buffer {
  let p = pads.get(key);
  if (!p) {
    const k = key.length > 64 ? createHash('sha256').update(key).digest() : key;
    const ipad = Buffer.alloc(64, 0x36);
    const opad = Buffer.alloc(64, 0x5c);
    for (let i = 0; i < k.length; i++) {
      ipad[i] = (ipad[i] as number) ^ (k[i] as number);
      opad[i] = (opad[i] as number) ^ (k[i] as number);
    }
    p = { inner: createHash('sha256').update(ipad), outer: createHash('sha256').update(opad) };
    pads.set(key, p);
  }
  const h = p.inner.copy();
  for (const x of parts) h.update(x);
  return p.outer.copy().update(h.digest()).digest();
}

/** The row HMAC of `table` over canonical content + prev_hash. */
export function rowHmac(key: Buffer, table: string, content: string, prev: Buffer): Buffer {
  return hmacOf(key, [`${table}\0${content}`, prev]);
}

/** state_hmac of a rollback row. */
export function rollbackStateHmac(key: Buffer, hmac: Buffer, result: unknown, status: unknown): Buffer {
  return hmacOf(key, ['rollbacks-state\0', hmac, canonical([result, status])]);
}

/** HMAC of a chain head. */
export function headHmac(key: Buffer, table: string, lastId: number, lastHmac: Buffer): Buffer {
  return hmacOf(key, [`head\0${table}\0${lastId}\0`, lastHmac]);
}

/**
 * Appends chain fields to rows that have none, in id order, and rewrites the heads. Used once, by the
 * migration that introduced the chain (existing rows are vouched for at that moment), inside its transaction.
 */
export function sealExisting(db: Database.Database, key: Buffer): void {
  for (const t of CHAINED) {
    const rows = db.prepare(`SELECT id, ${contentColumns(t)}${t === 'rollbacks' ? ', result, status' : ''} FROM ${t} ORDER BY id`).all() as Record<string, unknown>[]; // prettier-ignore
    const upd = db.prepare(
      t === 'rollbacks'
        ? 'UPDATE rollbacks SET prev_hash = ?, hmac = ?, state_hmac = ? WHERE id = ?'
        : `UPDATE ${t} SET prev_hash = ?, hmac = ? WHERE id = ?`,
    );
    let prev: Buffer = GENESIS;
    let lastId = 0;
    for (const r of rows) {
      const h = rowHmac(key, t, canonical(contentValues(t, r)), prev);
      if (t === 'rollbacks') upd.run(prev, h, rollbackStateHmac(key, h, r.result, r.status), r.id);
      else upd.run(prev, h, r.id);
      prev = h;
      lastId = r.id as number;
    }
    db.prepare('INSERT OR REPLACE INTO chain_heads (tbl, last_id, last_hmac, hmac) VALUES (?,?,?,?)').run(
      t,
      lastId,
      prev,
      headHmac(key, t, lastId, prev),
    );
  }
}

export type Tamper = 'edited' | 'deleted' | 'reordered' | 'inserted';

/** First problem found by verifyJournal. `seq`/`run` are null where the table has none (or the row is gone). */
export interface VerifyProblem {
  table: ChainedTable;
  id: number;
  seq: number | null;
  run: number | null;
  problem: Tamper;
  detail: string;
}

/** Result of verifyJournal: `rows` counts the rows checked (all tables). */
export interface VerifyResult {
  ok: boolean;
  rows: number;
  tables: Record<ChainedTable, number>;
  firstBad?: VerifyProblem;
}

const eq = (a: unknown, b: Buffer) => Buffer.isBuffer(a) && a.equals(b);

function verifyTable(
  db: Database.Database,
  key: Buffer,
  t: ChainedTable,
): { rows: number; bad?: VerifyProblem } {
  const extra = t === 'rollbacks' ? ', result, status, state_hmac' : '';
  const it = db
    .prepare(`SELECT id, prev_hash, hmac, ${contentColumns(t)}${extra} FROM ${t} ORDER BY id`)
    .iterate() as IterableIterator<Record<string, unknown>>;
  const bad = (
    r: Record<string, unknown> | null,
    id: number,
    problem: Tamper,
    detail: string,
  ): VerifyProblem => ({
    table: t,
    id,
    seq: r && t === 'events' ? (r.seq as number) : null,
    run: r ? (r.run_id as number) : null,
    problem,
    detail,
  });
  let expected: Buffer = GENESIS;
  let lastId = 0;
  let n = 0;
  // On a problem the iterator is closed first: the connection runs no other statement while one is open.
  let stop: { r: Record<string, unknown>; kind: 'hmac' | 'link' | 'state' } | undefined;
  for (const r of it) {
    n++;
    const prev = r.prev_hash;
    const stored = r.hmac;
    const okHmac =
      Buffer.isBuffer(prev) &&
      Buffer.isBuffer(stored) &&
      rowHmac(key, t, canonical(contentValues(t, r)), prev).equals(stored);
    if (!okHmac) stop = { r, kind: 'hmac' };
    else if (!(prev as Buffer).equals(expected)) stop = { r, kind: 'link' };
    else if (
      t === 'rollbacks' &&
      !eq(r.state_hmac, rollbackStateHmac(key, stored as Buffer, r.result, r.status))
    )
      stop = { r, kind: 'state' };
    if (stop) {
      it.return?.();
      break;
    }
    expected = stored as Buffer;
    lastId = r.id as number;
  }
  if (stop) {
    const { r, kind } = stop;
    const id = r.id as number;
    if (kind === 'state')
      return { rows: n, bad: bad(r, id, 'edited', 'rollback result/status does not match its HMAC') };
    if (kind === 'hmac') {
      const next = db.prepare(`SELECT prev_hash FROM ${t} WHERE id > ? ORDER BY id LIMIT 1`).get(id) as
        { prev_hash: unknown } | undefined;
      const inserted = r.hmac === null || (next !== undefined && eq(next.prev_hash, expected));
      return {
        rows: n,
        bad: inserted
          ? bad(r, id, 'inserted', 'row is not part of the chain (its successor links to the row before it)')
          : bad(r, id, 'edited', 'row content does not match its HMAC'),
      };
    }
    const elsewhere = db.prepare(`SELECT id FROM ${t} WHERE hmac = ?`).get(r.prev_hash) as
      { id: number } | undefined;
    return {
      rows: n,
      bad: elsewhere
        ? bad(r, id, 'reordered', `row should follow row ${elsewhere.id}, not row ${lastId || '(start)'}`)
        : bad(r, id, 'deleted', `the row(s) between row ${lastId || '(start)'} and this one were removed`),
    };
  }
  const head = db.prepare('SELECT last_id, last_hmac, hmac FROM chain_heads WHERE tbl = ?').get(t) as
    { last_id: number; last_hmac: Buffer; hmac: Buffer } | undefined;
  if (!head) return { rows: n, bad: bad(null, lastId, 'deleted', 'chain head is missing') };
  if (!eq(head.hmac, headHmac(key, t, head.last_id, head.last_hmac)))
    return { rows: n, bad: bad(null, head.last_id, 'edited', 'chain head does not match its HMAC') };
  if (head.last_id !== lastId || !head.last_hmac.equals(expected)) {
    if (head.last_id > lastId)
      return {
        rows: n,
        bad: bad(null, head.last_id, 'deleted', `the newest row(s) after row ${lastId} were removed`),
      };
    return {
      rows: n,
      bad: bad(null, lastId, 'inserted', `rows after row ${head.last_id} are not in the chain head`),
    };
  }
  return { rows: n };
}

/** Walks every chained table; stops at the first problem. */
export function verifyChains(db: Database.Database, key: Buffer): VerifyResult {
  const tables = { events: 0, processes: 0, rollbacks: 0 };
  let rows = 0;
  for (const t of CHAINED) {
    const r = verifyTable(db, key, t);
    tables[t] = r.rows;
    rows += r.rows;
    if (r.bad) return { ok: false, rows, tables, firstBad: r.bad };
  }
  return { ok: true, rows, tables };
}
