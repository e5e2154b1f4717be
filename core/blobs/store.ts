// Content-addressed pre-image store: state/blobs/<aa>/<sha256>, files 0400, dirs 0700, with a `blobs` table
// (sha, size, refs, created_at) in the journal database so blob rows commit with the events that use them.
import { createHash } from 'node:crypto';
import * as fs from 'node:fs';
import { join } from 'node:path';
import type Database from 'better-sqlite3';

const CHUNK = 1 << 20; // files up to this size are hashed from one read; larger ones in chunks

/** Result of BlobStore.putStaged. `created` is false when the content was already stored. */
export interface PutResult {
  sha: string;
  size: number;
  created: boolean;
}

/** SHA-256 (hex) and size in bytes of the file open at `fd`, read from offset 0 (whole if small, else chunked). */
function hashFd(fd: number, size: number): { sha: string; size: number } {
  const h = createHash('sha256');
  const buf = Buffer.allocUnsafe(Math.min(Math.max(size, 1), CHUNK));
  let total = 0;
  for (let n; (n = fs.readSync(fd, buf, 0, buf.length, total)) > 0; total += n) h.update(buf.subarray(0, n));
  return { sha: h.digest('hex'), size: total };
}

/** SHA-256 (hex) and size in bytes of a file, reading it in 1 MiB chunks when large. */
export function hashFile(path: fs.PathLike): { sha: string; size: number } {
  const fd = fs.openSync(path, 'r');
  try {
    return hashFd(fd, fs.fstatSync(fd).size);
  } finally {
    fs.closeSync(fd);
  }
}

/** The blob store. Methods are synchronous and throw Node fs errors (ENOENT, EACCES, …). */
export class BlobStore {
  private readonly dirs = new Set<string>();
  private readonly stmts;

  readonly db: Database.Database;

  /** `dir` is e.g. `state/blobs`; `journal` is the Journal (or its connection) whose schema has `blobs`. */
  constructor(
    readonly dir: string,
    journal: Database.Database | { db: Database.Database },
  ) {
    const db = 'db' in journal ? journal.db : journal;
    this.db = db;
    fs.mkdirSync(dir, { recursive: true, mode: 0o700 });
    this.stmts = {
      get: db.prepare('SELECT size, refs FROM blobs WHERE sha = ?'),
      ins: db.prepare('INSERT INTO blobs (sha, size, refs, created_at) VALUES (?, ?, 1, ?)'),
      inc: db.prepare('UPDATE blobs SET refs = refs + 1 WHERE sha = ?'),
      dec: db.prepare('UPDATE blobs SET refs = max(refs - 1, 0) WHERE sha = ?'),
      dead: db.prepare('SELECT sha FROM blobs WHERE refs = 0'),
      del: db.prepare('DELETE FROM blobs WHERE sha = ? AND refs = 0'),
    };
  }

  /** Absolute path of a blob file (it may not exist). */
  pathOf(sha: string): string {
    return join(this.dir, sha.slice(0, 2), sha);
  }

  /** True if the blob has a row (and so, unless corrupted, a file). */
  has(sha: string): boolean {
    return this.stmts.get.get(sha) !== undefined;
  }

  /**
   * Adds a staged pre-image and takes one reference to it. The staged file is left in place: the caller
   * removes it after its transaction commits (so a crash before commit can simply retry). New content is
   * hardlinked into the store when the staged file has nlink 1 (nothing else can reach that inode), copied
   * otherwise. A blob file left by an earlier, uncommitted attempt is reused.
   */
  putStaged(stagedPath: fs.PathLike): PutResult {
    const fd = fs.openSync(stagedPath, fs.constants.O_RDONLY | fs.constants.O_NOFOLLOW);
    let st: fs.Stats;
    let sha: string;
    let size: number;
    try {
      st = fs.fstatSync(fd);
      if (!st.isFile()) throw new Error(`staged pre-image is not a regular file: ${String(stagedPath)}`);
      ({ sha, size } = hashFd(fd, st.size));
    } finally {
      fs.closeSync(fd);
    }
    if (this.has(sha)) {
      this.stmts.inc.run(sha);
      return { sha, size, created: false };
    }
    const dest = this.pathOf(sha);
    const sub = join(this.dir, sha.slice(0, 2));
    if (!this.dirs.has(sub)) {
      fs.mkdirSync(sub, { recursive: true, mode: 0o700 });
      this.dirs.add(sub);
    }
    try {
      if (st.nlink === 1) {
        fs.linkSync(stagedPath, dest);
      } else {
        const tmp = `${dest}.tmp${process.pid}`;
        fs.copyFileSync(stagedPath, tmp, fs.constants.COPYFILE_FICLONE);
        fs.linkSync(tmp, dest);
        fs.unlinkSync(tmp);
      }
      fs.chmodSync(dest, 0o400);
    } catch (e) {
      // EEXIST: a blob file left by an earlier attempt whose transaction never committed; same content.
      if ((e as NodeJS.ErrnoException).code !== 'EEXIST') throw e;
    }
    this.stmts.ins.run(sha, size, Date.now());
    return { sha, size, created: true };
  }

  /** Takes one more reference to an existing blob. @throws if the blob is unknown. */
  addRef(sha: string): void {
    if (this.stmts.inc.run(sha).changes === 0) throw new Error(`unknown blob ${sha}`);
  }

  /** Drops one reference; blobs at zero references are deleted by gc(). */
  release(sha: string): void {
    this.stmts.dec.run(sha);
  }

  /** Deletes blobs with zero references (rows and files); returns how many were removed. */
  gc(): number {
    let n = 0;
    for (const { sha } of this.stmts.dead.all() as { sha: string }[]) {
      if (this.stmts.del.run(sha).changes > 0) {
        fs.rmSync(this.pathOf(sha), { force: true });
        n++;
      }
    }
    return n;
  }

  /** The blob's bytes. @throws ENOENT if missing. */
  read(sha: string): Buffer {
    return fs.readFileSync(this.pathOf(sha));
  }

  /** Opens the blob read-only and returns the file descriptor (caller closes it). */
  open(sha: string): number {
    return fs.openSync(this.pathOf(sha), 'r');
  }

  /** Copies the blob to `dest` (reflink when the filesystem can, byte copy otherwise); dest gets mode 0600. */
  copyTo(sha: string, dest: fs.PathLike): void {
    fs.copyFileSync(this.pathOf(sha), dest, fs.constants.COPYFILE_FICLONE);
    fs.chmodSync(dest, 0o600);
  }

  /** True if the blob file exists and its content still hashes to `sha`. */
  verify(sha: string): boolean {
    try {
      return hashFile(this.pathOf(sha)).sha === sha;
    } catch {
      return false;
    }
  }
}
