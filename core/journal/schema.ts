// Journal schema and migrations. `schema_version` holds one row with the applied version; each migration
// runs in its own transaction, so a crash mid-migration leaves the previous version intact.
import type Database from 'better-sqlite3';

/** Ordered migrations; index i migrates from version i to version i+1. Never edit a shipped entry. */
export const MIGRATIONS: readonly string[] = [
  `
  CREATE TABLE runs (
    id INTEGER PRIMARY KEY,
    started_at INTEGER NOT NULL,
    ended_at INTEGER,
    argv TEXT NOT NULL DEFAULT '[]',
    cwd TEXT,
    workspace TEXT,
    status TEXT NOT NULL DEFAULT 'running' CHECK (status IN ('running','ended','failed')),
    exit_code INTEGER,
    signal INTEGER,
    summary TEXT,
    helper_pid INTEGER,
    root_pid INTEGER,
    log_offset INTEGER NOT NULL DEFAULT 0
  );
  CREATE TABLE processes (
    id INTEGER PRIMARY KEY,
    run_id INTEGER NOT NULL REFERENCES runs(id) ON DELETE CASCADE,
    pid INTEGER NOT NULL,
    ppid INTEGER,
    argv TEXT NOT NULL DEFAULT '[]',
    exe BLOB,
    cwd BLOB,
    ts INTEGER NOT NULL
  );
  CREATE INDEX processes_run_pid ON processes(run_id, pid);
  CREATE TABLE blobs (
    sha TEXT PRIMARY KEY,
    size INTEGER NOT NULL,
    refs INTEGER NOT NULL DEFAULT 0,
    created_at INTEGER NOT NULL
  );
  CREATE TABLE events (
    id INTEGER PRIMARY KEY,
    run_id INTEGER NOT NULL REFERENCES runs(id) ON DELETE CASCADE,
    seq INTEGER NOT NULL,
    ts INTEGER NOT NULL,
    pid INTEGER,
    tid INTEGER,
    op TEXT NOT NULL,
    sys TEXT,
    path BLOB,
    path2 BLOB,
    flags INTEGER,
    decision TEXT NOT NULL,
    rule_id TEXT,
    band TEXT,
    errno INTEGER NOT NULL DEFAULT 0,
    pre TEXT,
    pre_sha TEXT REFERENCES blobs(sha),
    pre2 TEXT,
    argv TEXT,
    UNIQUE (run_id, seq)
  );
  CREATE TABLE rollbacks (
    id INTEGER PRIMARY KEY,
    run_id INTEGER NOT NULL REFERENCES runs(id) ON DELETE CASCADE,
    created_at INTEGER NOT NULL,
    plan TEXT NOT NULL,
    result TEXT,
    status TEXT NOT NULL
  );
  CREATE TABLE faults (
    id INTEGER PRIMARY KEY,
    run_id INTEGER NOT NULL REFERENCES runs(id) ON DELETE CASCADE,
    ts INTEGER NOT NULL,
    what TEXT NOT NULL
  );
  `,
  // v2: tamper evidence (core/journal/chain.ts). Existing rows are chained by the Journal right after this
  // migration (it needs the key), flagged by chain_meta.pending.
  `
  ALTER TABLE events ADD COLUMN prev_hash BLOB;
  ALTER TABLE events ADD COLUMN hmac BLOB;
  ALTER TABLE processes ADD COLUMN prev_hash BLOB;
  ALTER TABLE processes ADD COLUMN hmac BLOB;
  ALTER TABLE rollbacks ADD COLUMN prev_hash BLOB;
  ALTER TABLE rollbacks ADD COLUMN hmac BLOB;
  ALTER TABLE rollbacks ADD COLUMN state_hmac BLOB;
  CREATE TABLE chain_heads (
    tbl TEXT PRIMARY KEY,
    last_id INTEGER NOT NULL,
    last_hmac BLOB NOT NULL,
    hmac BLOB NOT NULL
  );
  CREATE TABLE chain_meta (pending INTEGER NOT NULL);
  INSERT INTO chain_meta (pending) VALUES (1);
  `,
  // v3: who ended a held event (WIRE.md §3): the hold id, "person" | "policy" | "timeout" | "no-daemon", and
  // how long the syscall waited. Covered by the row HMAC when set (chain.ts OPTIONAL_CONTENT).
  `
  ALTER TABLE events ADD COLUMN hold_id INTEGER;
  ALTER TABLE events ADD COLUMN hold_by TEXT;
  ALTER TABLE events ADD COLUMN held_ms INTEGER;
  `,
  // v4: bytes sent and received on a `connect` event the egress proxy journals (core/net). Covered by the row
  // HMAC when set (chain.ts NET_CONTENT).
  `
  ALTER TABLE events ADD COLUMN bytes_up INTEGER;
  ALTER TABLE events ADD COLUMN bytes_down INTEGER;
  `,
];

/** The schema version this code writes. */
export const SCHEMA_VERSION = MIGRATIONS.length;

/**
 * Brings `db` up to SCHEMA_VERSION.
 * @throws Error if the database was written by a newer Warden (version above SCHEMA_VERSION).
 */
export function migrate(db: Database.Database): void {
  db.exec('CREATE TABLE IF NOT EXISTS schema_version (version INTEGER NOT NULL)');
  const row = db.prepare('SELECT version FROM schema_version').get() as { version: number } | undefined;
  let v = row?.version ?? 0;
  if (!row) db.prepare('INSERT INTO schema_version (version) VALUES (0)').run();
  if (v > SCHEMA_VERSION) {
    throw new Error(`journal schema version ${v} is newer than this Warden supports (${SCHEMA_VERSION})`);
  }
  for (; v < SCHEMA_VERSION; v++) {
    const sql = MIGRATIONS[v] as string;
    db.transaction(() => {
      db.exec(sql);
      db.prepare('UPDATE schema_version SET version = ?').run(v + 1);
    })();
  }
}
