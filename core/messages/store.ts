/**
 * The outbound-message queue on disk: its own SQLite file `<state>/messages.db` (WAL, mode 0600 because the
 * delivery payload holds an MCP server's environment), with a `migrations` table so later versions can add
 * columns. Only the daemon opens it. Every state change is one statement, so it is durable once it returns.
 */
import Database from 'better-sqlite3';
import { chmodSync, existsSync } from 'node:fs';
import { randomBytes } from 'node:crypto';
import type { Message, MessageChannel, MessageState } from '../api/contract-messages.js';
import { WardenError } from '../util/errors.js';
import type { DeliveryPayload } from './payload.js';

const MIGRATIONS: string[] = [
  `CREATE TABLE messages (
     id INTEGER PRIMARY KEY AUTOINCREMENT,
     channel TEXT NOT NULL,
     destination TEXT NOT NULL,
     subject TEXT NOT NULL,
     body TEXT NOT NULL,
     attachments TEXT NOT NULL,
     run_id INTEGER,
     pid INTEGER,
     process TEXT,
     created_at INTEGER NOT NULL,
     release_at INTEGER NOT NULL,
     state TEXT NOT NULL,
     edited INTEGER NOT NULL DEFAULT 0,
     error TEXT,
     sent_at INTEGER,
     idem_key TEXT NOT NULL UNIQUE,
     attempts INTEGER NOT NULL DEFAULT 0,
     payload TEXT NOT NULL,
     receipt TEXT
   );
   CREATE INDEX messages_state ON messages (state, release_at);`,
];

/** What a new message needs (the rest is derived: id, state queued, key, times). */
export interface NewMessage {
  channel: MessageChannel;
  destination: string;
  subject: string;
  body: string;
  attachments: Message['attachments'];
  run: number | null;
  pid: number | null;
  process: string | null;
  /** epoch ms */
  releaseAt: number;
  payload: DeliveryPayload;
}

type Row = Record<string, unknown>;

function fromRow(r: Row): Message {
  return {
    id: r.id as number,
    channel: r.channel as MessageChannel,
    destination: r.destination as string,
    subject: r.subject as string,
    body: r.body as string,
    attachments: JSON.parse(r.attachments as string) as Message['attachments'],
    run: (r.run_id as number | null) ?? null,
    pid: (r.pid as number | null) ?? null,
    process: (r.process as string | null) ?? null,
    createdAt: r.created_at as number,
    releaseAt: r.release_at as number,
    state: r.state as MessageState,
    edited: r.edited === 1,
    error: (r.error as string | null) ?? null,
    sentAt: (r.sent_at as number | null) ?? null,
    idempotencyKey: r.idem_key as string,
    attempts: r.attempts as number,
  };
}

export class MessageStore {
  private readonly db: Database.Database;

  /** Opens (creating and migrating) the queue at `path`. */
  constructor(readonly path: string) {
    this.db = new Database(path);
    this.db.pragma('journal_mode = WAL');
    this.db.pragma('synchronous = FULL');
    this.db.pragma('busy_timeout = 5000');
    for (const f of [path, `${path}-wal`, `${path}-shm`]) if (existsSync(f)) chmodSync(f, 0o600);
    this.db.exec(
      'CREATE TABLE IF NOT EXISTS migrations (version INTEGER PRIMARY KEY, applied_at INTEGER NOT NULL)',
    );
    const done =
      (this.db.prepare('SELECT max(version) AS v FROM migrations').get() as { v: number | null }).v ?? 0;
    for (let v = done; v < MIGRATIONS.length; v++) {
      this.db.transaction(() => {
        this.db.exec(MIGRATIONS[v] as string);
        this.db.prepare('INSERT INTO migrations (version, applied_at) VALUES (?, ?)').run(v + 1, Date.now());
      })();
    }
  }

  close(): void {
    this.db.close();
  }

  /** Stores a new message in state `queued` with a fresh idempotency key; returns it. */
  insert(m: NewMessage): Message {
    const key = randomBytes(16).toString('hex');
    const info = this.db
      .prepare(
        `INSERT INTO messages (channel, destination, subject, body, attachments, run_id, pid, process, created_at,
           release_at, state, idem_key, payload) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, 'queued', ?, ?)`,
      )
      .run(
        m.channel,
        m.destination,
        m.subject,
        m.body,
        JSON.stringify(m.attachments),
        m.run,
        m.pid,
        m.process,
        Date.now(),
        m.releaseAt,
        key,
        JSON.stringify(m.payload),
      );
    return this.get(Number(info.lastInsertRowid));
  }

  /**
   * The message with this id.
   * @throws WardenError('no-such-message') naming the id.
   */
  get(id: number): Message {
    const r = this.db.prepare('SELECT * FROM messages WHERE id = ?').get(id) as Row | undefined;
    if (!r)
      throw new WardenError(
        'no-such-message',
        `no outbound message with id ${id} (see \`warden messages\`)`,
        2,
      );
    return fromRow(r);
  }

  /** The stored delivery payload of a message (never sent over the API). */
  payload(id: number): DeliveryPayload {
    const r = this.db.prepare('SELECT payload FROM messages WHERE id = ?').get(id) as Row | undefined;
    if (!r) throw new WardenError('no-such-message', `no outbound message with id ${id}`, 2);
    return JSON.parse(r.payload as string) as DeliveryPayload;
  }

  /** Messages, newest first, optionally of one state / run. */
  list(o: { state?: MessageState; run?: number; limit?: number } = {}): Message[] {
    const rows = this.db
      .prepare(
        `SELECT * FROM messages WHERE (@state IS NULL OR state = @state) AND (@run IS NULL OR run_id = @run)
           ORDER BY id DESC LIMIT @limit`,
      )
      .all({ state: o.state ?? null, run: o.run ?? null, limit: o.limit ?? 200 }) as Row[];
    return rows.map(fromRow);
  }

  /** Messages waiting for release (queued or edited) whose release time is at or before `now`, oldest first. */
  due(now: number): Message[] {
    return (
      this.db
        .prepare(
          `SELECT * FROM messages WHERE state IN ('queued','edited') AND release_at <= ? ORDER BY release_at, id`,
        )
        .all(now) as Row[]
    ).map(fromRow);
  }

  /** The earliest release time of a waiting message, or null. */
  nextRelease(): number | null {
    const r = this.db
      .prepare(`SELECT min(release_at) AS t FROM messages WHERE state IN ('queued','edited')`)
      .get() as { t: number | null };
    return r.t ?? null;
  }

  /** Messages a crash left in `sending`. */
  stuck(): Message[] {
    return (this.db.prepare(`SELECT * FROM messages WHERE state = 'sending' ORDER BY id`).all() as Row[]).map(
      fromRow,
    );
  }

  /**
   * Changes what a waiting message will send. Returns the message after the change.
   * @throws WardenError('message-not-editable') when it is no longer queued/edited.
   */
  edit(
    id: number,
    change: { subject?: string; body?: string; destination?: string },
    payload: DeliveryPayload,
  ): Message {
    const info = this.db
      .prepare(
        `UPDATE messages SET subject = coalesce(?, subject), body = coalesce(?, body),
           destination = coalesce(?, destination), payload = ?, edited = 1, state = 'edited'
         WHERE id = ? AND state IN ('queued','edited')`,
      )
      .run(
        change.subject ?? null,
        change.body ?? null,
        change.destination ?? null,
        JSON.stringify(payload),
        id,
      );
    if (info.changes === 0) throw this.notWaiting(id, 'edited');
    return this.get(id);
  }

  /**
   * Moves a waiting message to `sending` and counts the attempt: the commit point before delivery. Returns
   * false if it was not waiting (someone else claimed, sent or cancelled it).
   */
  claim(id: number, orFailed = false): boolean {
    return (
      this.db
        .prepare(
          `UPDATE messages SET state = 'sending', attempts = attempts + 1, error = NULL
             WHERE id = ? AND (state IN ('queued','edited') OR (? AND state = 'failed'))`,
        )
        .run(id, orFailed ? 1 : 0).changes > 0
    );
  }

  /** Counts one more attempt on a message already in `sending` (recovery after a crash). */
  reattempt(id: number): void {
    this.db.prepare(`UPDATE messages SET attempts = attempts + 1 WHERE id = ? AND state = 'sending'`).run(id);
  }

  /** Ends a message that was `sending`: sent (with the receiver's receipt) or failed (with the error). */
  finish(id: number, r: { state: 'sent' | 'failed'; error?: string; receipt?: unknown }): Message {
    this.db
      .prepare(
        `UPDATE messages SET state = ?, error = ?, receipt = ?, sent_at = ? WHERE id = ? AND state = 'sending'`,
      )
      .run(
        r.state,
        r.error ?? null,
        r.receipt === undefined ? null : JSON.stringify(r.receipt),
        r.state === 'sent' ? Date.now() : null,
        id,
      );
    return this.get(id);
  }

  /**
   * Cancels a waiting message.
   * @throws WardenError('message-not-cancellable') when it is already sending, sent, cancelled or failed.
   */
  cancel(id: number): Message {
    const info = this.db
      .prepare(`UPDATE messages SET state = 'cancelled' WHERE id = ? AND state IN ('queued','edited')`)
      .run(id);
    if (info.changes === 0) throw this.notWaiting(id, 'cancelled');
    return this.get(id);
  }

  private notWaiting(id: number, what: string): WardenError {
    const m = this.get(id);
    return new WardenError(
      `message-not-${what === 'edited' ? 'editable' : 'cancellable'}`,
      `message ${id} is ${m.state}; only a queued or edited message can be ${what}`,
      2,
    );
  }
}
