// Applies a RollbackPlan losslessly: whatever a step would overwrite or remove is first moved into
// state/rollbacks/<id>/aside/<absolute path>; restored files are written beside the target and renamed over
// it (atomic per file); directory modes and times are set after all their children are back.
import * as fs from 'node:fs';
import { join } from 'node:path';
import type { BlobStore } from '../blobs/store.js';
import type { Journal } from '../journal/journal.js';
import type { FsPath } from '../wire/events.js';
import * as P from './fspath.js';
import type { PlanStep, RollbackPlan, StepMeta } from './plan.js';

export interface ApplyOptions {
  /** The state dir; the aside area is `<stateDir>/rollbacks/<id>/aside/`. */
  stateDir: string;
  /**
   * Roll back even while the run is still 'running' (otherwise that throws), and apply the steps marked
   * `conflict` too (what is there now is moved aside first, like anything else in the way).
   */
  force?: boolean;
}

/** Outcome of applyRollback. `movedAside` lists what was in the way and where it now is. */
export interface ApplyResult {
  rollbackId: number;
  applied: number;
  skipped: number;
  movedAside: { path: string; aside: string; seq: number }[];
  errors: { seq: number; path: string; message: string }[];
  /** Steps not applied because their path changed after the run (only without `force`). */
  conflicts: { seq: number; path: string; reason: string }[];
  /** For an undo (undoRollback): the rollback it reversed. */
  undoOf?: number;
}

/** A path in an undo record: the string, or the exact bytes in hex when not UTF-8. */
export type PathRef = string | { hex: string };

/**
 * What a rollback did to the filesystem, one record per primitive change, in order; stored with its result
 * (`rollbacks.result.actions`) so undoRollback can reverse it exactly, newest first.
 * - `aside`: moved `path` to `aside` (something in the way);  `created`: made `path` (identity: ino, and for
 *   files and symlinks the mtime in ns, so undo removes only what is still the rollback's own);
 * - `rmdir`: removed the empty directory `path` (meta to recreate it);  `rename`: renamed `from` to `to`;
 * - `exchange`: swapped `p` and `q`;  `meta`: changed mode/owner/times of `path` (prev = before).
 */
export type UndoAction =
  | { a: 'aside'; path: PathRef; aside: PathRef }
  | { a: 'created'; path: PathRef; kind: 'file' | 'symlink' | 'dir'; ino: string; mtimeNs?: string }
  | { a: 'rmdir'; path: PathRef; meta: StepMeta }
  | { a: 'rename'; from: PathRef; to: PathRef }
  | { a: 'exchange'; p: PathRef; q: PathRef }
  | { a: 'meta'; path: PathRef; prev: StepMeta; link: boolean };

export const ref = (p: FsPath): PathRef => (typeof p === 'string' ? p : { hex: p.toString('hex') });
export const unref = (r: PathRef): FsPath => (typeof r === 'string' ? r : Buffer.from(r.hex, 'hex'));

/** The current meta of `p` (mode, owner, times) as a StepMeta, for an undo record. */
export function currentMeta(p: FsPath): StepMeta {
  const st = fs.lstatSync(p, { bigint: true });
  const ts = (ns: bigint): [number, number] => [Number(ns / 1_000_000_000n), Number(ns % 1_000_000_000n)];
  return {
    mode: Number(st.mode),
    uid: Number(st.uid),
    gid: Number(st.gid),
    mtime: ts(st.mtimeNs),
    atime: ts(st.atimeNs),
  };
}

/** Identity of what is at `p` now, for a `created` record. */
function identity(p: FsPath): { ino: string; mtimeNs: string } {
  const st = fs.lstatSync(p, { bigint: true });
  return { ino: String(st.ino), mtimeNs: String(st.mtimeNs) };
}

const uid = process.getuid?.() ?? -1;
const gid = process.getgid?.() ?? -1;
const SMALL_COPY = 64 * 1024; // bytes; larger blobs are copied with copyFile (reflink where possible)
const toDate = (t: [number, number]) => t[0] + t[1] / 1e9;

/** Sets owner (when different from ours and permitted), mode (not for symlinks) and times of `p`. */
export function setMeta(p: FsPath, m: StepMeta | undefined, isLink: boolean): void {
  if (!m) return;
  if (m.uid !== undefined && m.gid !== undefined && (m.uid !== uid || m.gid !== gid)) {
    try {
      fs.lchownSync(p, m.uid, m.gid);
    } catch (e) {
      if ((e as NodeJS.ErrnoException).code !== 'EPERM') throw e;
    }
  }
  if (m.mode !== undefined && !isLink) fs.chmodSync(p, m.mode & 0o7777);
  if (m.mtime) {
    const at = toDate(m.atime ?? m.mtime);
    if (isLink) fs.lutimesSync(p, at, toDate(m.mtime));
    else fs.utimesSync(p, at, toDate(m.mtime));
  }
}

/** setMeta for a regular file open at `fd`. */
function setMetaFd(fd: number, m: StepMeta): void {
  if (m.uid !== undefined && m.gid !== undefined && (m.uid !== uid || m.gid !== gid)) {
    try {
      fs.fchownSync(fd, m.uid, m.gid);
    } catch (e) {
      if ((e as NodeJS.ErrnoException).code !== 'EPERM') throw e;
    }
  }
  if (m.mode !== undefined) fs.fchmodSync(fd, m.mode & 0o7777);
  if (m.mtime) fs.futimesSync(fd, toDate(m.atime ?? m.mtime), toDate(m.mtime));
}

class Applier {
  readonly result: ApplyResult;
  private readonly aside: string;
  private readonly produced = new Set<string>(); // paths this rollback wrote: no need to keep them aside
  private readonly dirMeta: { p: FsPath; m: StepMeta }[] = [];
  /** Every change made, in order (see UndoAction). */
  readonly actions: UndoAction[] = [];

  constructor(
    private readonly blobs: BlobStore,
    stateDir: string,
    id: number,
  ) {
    this.aside = join(stateDir, 'rollbacks', String(id), 'aside');
    this.result = { rollbackId: id, applied: 0, skipped: 0, movedAside: [], errors: [], conflicts: [] };
  }

  private readonly touched = new Set<string>();

  /**
   * Records the meta of `p`'s parent directory before this rollback first adds or removes an entry in it, so
   * an undo can give the directory its times back.
   */
  private touch(p: FsPath): void {
    const d = P.parentOf(p);
    const key = P.pathKey(d);
    if (this.touched.has(key)) return;
    this.touched.add(key);
    if (P.lstatMaybe(d)?.isDirectory())
      this.actions.push({ a: 'meta', path: ref(d), prev: currentMeta(d), link: false });
  }

  private created(p: FsPath, kind: 'file' | 'symlink' | 'dir'): void {
    const id = identity(p);
    this.actions.push(
      kind === 'dir'
        ? { a: 'created', path: ref(p), kind, ino: id.ino }
        : { a: 'created', path: ref(p), kind, ...id },
    );
  }

  /** mkdir -p of `dir`, recording each directory it creates. */
  private mkdirs(dir: FsPath): void {
    const missing: FsPath[] = [];
    for (let d = dir; !P.lstatMaybe(d); d = P.parentOf(d)) {
      missing.push(d);
      if (P.parentOf(d).length === d.length) break;
    }
    for (const d of missing.reverse()) {
      this.touch(d);
      fs.mkdirSync(d);
      this.created(d, 'dir');
    }
  }

  /** Moves whatever is at `p` aside unless this rollback put it there. Returns true if something was there. */
  private clear(p: FsPath, seq: number): boolean {
    const st = P.lstatMaybe(p);
    if (!st) return false;
    this.touch(p);
    if (this.produced.has(P.pathKey(p)) && !st.isDirectory()) {
      fs.unlinkSync(p);
      return true;
    }
    let dest = P.under(this.aside, p);
    for (let n = 1; P.lstatMaybe(dest); n++) dest = P.under(this.aside, p, `.~${seq}~${n}`);
    P.moveAcross(p, dest);
    this.actions.push({ a: 'aside', path: ref(p), aside: ref(dest) });
    this.result.movedAside.push({ path: P.showFsPath(p), aside: P.showFsPath(dest), seq });
    return true;
  }

  /** Writes the blob into a new temp file beside `p` (creating missing parents), with its meta applied. */
  private writeTemp(s: PlanStep, p: FsPath, tmp: FsPath): void {
    const src = this.blobs.pathOf(s.sha as string);
    const size = s.meta?.size ?? fs.statSync(src).size;
    const meta = { mode: 0o600, ...s.meta };
    const create = () => {
      if (size > SMALL_COPY) {
        fs.copyFileSync(src, tmp, fs.constants.COPYFILE_FICLONE);
        return setMeta(tmp, meta, false);
      }
      // Small files: read + write + fchmod/futimes on one fd is ~3x faster than copyFile (measured on ext4).
      const fd = fs.openSync(tmp, 'wx', 0o600);
      try {
        fs.writeSync(fd, fs.readFileSync(src));
        setMetaFd(fd, meta);
      } finally {
        fs.closeSync(fd);
      }
    };
    try {
      create();
    } catch (e) {
      if ((e as NodeJS.ErrnoException).code !== 'ENOENT') throw e;
      this.mkdirs(P.parentOf(p)); // parent not restored (e.g. filtered out by paths)
      create();
    }
  }

  private restoreFile(s: PlanStep, p: FsPath): void {
    const tmp = P.siblingTemp(p, `warden-${this.result.rollbackId}-${s.seq}`);
    try {
      this.writeTemp(s, p, tmp);
      const st = P.lstatMaybe(p);
      if (st && (st.isDirectory() || !this.produced.has(P.pathKey(p)))) this.clear(p, s.seq);
      fs.renameSync(tmp, p);
      this.created(p, 'file');
    } catch (e) {
      fs.rmSync(tmp, { force: true });
      throw e;
    }
  }

  /** Applies one step; returns false when there was nothing to do. */
  step(s: PlanStep): boolean {
    const p = P.stepPath(s);
    if (s.action !== 'meta') this.touch(p);
    if (s.action === 'move-back' || s.action === 'exchange') this.touch(P.stepPath(s, 'path2'));
    switch (s.action) {
      case 'remove':
        return this.clear(p, s.seq);
      case 'restore':
        this.restoreFile(s, p);
        break;
      case 'symlink': {
        const target = s.meta?.targetHex ? Buffer.from(s.meta.targetHex, 'hex') : s.meta?.target;
        if (target === undefined) throw new Error('symlink step without a target');
        this.clear(p, s.seq);
        fs.symlinkSync(target, p);
        setMeta(p, s.meta, true);
        this.created(p, 'symlink');
        break;
      }
      case 'mkdir': {
        const st = P.lstatMaybe(p);
        if (st && !st.isDirectory()) this.clear(p, s.seq);
        if (!st || !st.isDirectory()) {
          fs.mkdirSync(p, { mode: 0o700 });
          this.created(p, 'dir');
        }
        this.dirMeta.push({ p, m: s.meta ?? {} });
        break;
      }
      case 'rmdir': {
        const st = P.lstatMaybe(p);
        const before = st?.isDirectory() ? currentMeta(p) : undefined;
        try {
          fs.rmdirSync(p);
          if (before) this.actions.push({ a: 'rmdir', path: ref(p), meta: before });
        } catch (e) {
          const code = (e as NodeJS.ErrnoException).code;
          if (code === 'ENOENT') return false;
          if (code !== 'ENOTEMPTY' && code !== 'EEXIST' && code !== 'ENOTDIR') throw e;
          this.clear(p, s.seq);
        }
        break;
      }
      case 'move-back': {
        const from = P.stepPath(s, 'path2');
        if (!P.lstatMaybe(from)) throw new Error(`${P.showFsPath(from)} is gone; cannot move it back`);
        if (!this.produced.has(P.pathKey(p)) || P.lstatMaybe(p)?.isDirectory()) this.clear(p, s.seq);
        fs.renameSync(from, p);
        this.actions.push({ a: 'rename', from: ref(from), to: ref(p) });
        this.produced.delete(P.pathKey(from));
        break;
      }
      case 'exchange': {
        const q = P.stepPath(s, 'path2');
        const tmp = P.siblingTemp(p, `warden-x-${this.result.rollbackId}-${s.seq}`);
        fs.renameSync(p, tmp);
        fs.renameSync(q, p);
        fs.renameSync(tmp, q);
        this.actions.push({ a: 'exchange', p: ref(p), q: ref(q) });
        break;
      }
      case 'meta': {
        if (!P.lstatMaybe(p)) return false;
        const link = s.meta?.type === 'symlink';
        this.actions.push({ a: 'meta', path: ref(p), prev: currentMeta(p), link });
        setMeta(p, s.meta, link);
        break;
      }
      default:
        return false;
    }
    this.produced.add(P.pathKey(p));
    return true;
  }

  /** Directory modes/times, deepest first, once their children are back. */
  finishDirs(): void {
    for (const { p, m } of this.dirMeta.reverse()) {
      try {
        this.actions.push({ a: 'meta', path: ref(p), prev: currentMeta(p), link: false });
        setMeta(p, { mode: 0o755, ...m }, false);
      } catch (e) {
        this.result.errors.push({ seq: 0, path: P.showFsPath(p), message: (e as Error).message });
      }
    }
  }
}

/**
 * Applies `plan` (from planRollback) and records it (plan + result + the UndoActions it performed) in the
 * journal's `rollbacks` table. Steps marked `conflict` are skipped (listed in `conflicts`) unless `force`.
 * Step failures do not stop the rollback; they are returned in `errors` (status 'partial').
 * @throws Error if the run is still running and `force` is not set, or if the plan's run does not exist.
 */
export function applyRollback(
  journal: Journal,
  blobs: BlobStore,
  plan: RollbackPlan,
  o: ApplyOptions,
): ApplyResult {
  const run = journal.getRun(plan.run);
  if (!run) throw new Error(`no run ${plan.run}`);
  if (run.status === 'running' && !o.force) throw new Error(`run ${plan.run} is still running (use force)`);
  const id = journal.insertRollback(plan.run, plan, 'applying');
  const a = new Applier(blobs, o.stateDir, id);
  for (const s of plan.steps) {
    if (s.conflict && !o.force) {
      a.result.skipped++;
      a.result.conflicts.push({ seq: s.seq, path: s.path, reason: s.conflict });
      continue;
    }
    try {
      if (a.step(s)) a.result.applied++;
      else a.result.skipped++;
    } catch (e) {
      a.result.errors.push({ seq: s.seq, path: s.path, message: (e as Error).message });
    }
  }
  a.finishDirs();
  journal.finishRollback(
    id,
    { ...a.result, actions: a.actions },
    a.result.errors.length ? 'partial' : 'applied',
  );
  return a.result;
}
