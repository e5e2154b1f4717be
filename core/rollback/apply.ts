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
  /** Roll back even while the run is still 'running' (otherwise that throws). */
  force?: boolean;
}

/** Outcome of applyRollback. `movedAside` lists what was in the way and where it now is. */
export interface ApplyResult {
  rollbackId: number;
  applied: number;
  skipped: number;
  movedAside: { path: string; aside: string; seq: number }[];
  errors: { seq: number; path: string; message: string }[];
}

const uid = process.getuid?.() ?? -1;
const gid = process.getgid?.() ?? -1;
const SMALL_COPY = 64 * 1024; // bytes; larger blobs are copied with copyFile (reflink where possible)
const toDate = (t: [number, number]) => t[0] + t[1] / 1e9;

/** Sets owner (when different from ours and permitted), mode (not for symlinks) and times of `p`. */
function setMeta(p: FsPath, m: StepMeta | undefined, isLink: boolean): void {
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

  constructor(
    private readonly blobs: BlobStore,
    stateDir: string,
    id: number,
  ) {
    this.aside = join(stateDir, 'rollbacks', String(id), 'aside');
    this.result = { rollbackId: id, applied: 0, skipped: 0, movedAside: [], errors: [] };
  }

  /** Moves whatever is at `p` aside unless this rollback put it there. Returns true if something was there. */
  private clear(p: FsPath, seq: number): boolean {
    const st = P.lstatMaybe(p);
    if (!st) return false;
    if (this.produced.has(P.pathKey(p)) && !st.isDirectory()) {
      fs.unlinkSync(p);
      return true;
    }
    let dest = P.under(this.aside, p);
    for (let n = 1; P.lstatMaybe(dest); n++) dest = P.under(this.aside, p, `.~${seq}~${n}`);
    P.moveAcross(p, dest);
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
      fs.mkdirSync(P.parentOf(p), { recursive: true }); // parent not restored (e.g. filtered out by paths)
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
    } catch (e) {
      fs.rmSync(tmp, { force: true });
      throw e;
    }
  }

  /** Applies one step; returns false when there was nothing to do. */
  step(s: PlanStep): boolean {
    const p = P.stepPath(s);
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
        break;
      }
      case 'mkdir': {
        const st = P.lstatMaybe(p);
        if (st && !st.isDirectory()) this.clear(p, s.seq);
        if (!st || !st.isDirectory()) fs.mkdirSync(p, { mode: 0o700 });
        this.dirMeta.push({ p, m: s.meta ?? {} });
        break;
      }
      case 'rmdir':
        try {
          fs.rmdirSync(p);
        } catch (e) {
          const code = (e as NodeJS.ErrnoException).code;
          if (code === 'ENOENT') return false;
          if (code !== 'ENOTEMPTY' && code !== 'EEXIST' && code !== 'ENOTDIR') throw e;
          this.clear(p, s.seq);
        }
        break;
      case 'move-back': {
        const from = P.stepPath(s, 'path2');
        if (!P.lstatMaybe(from)) throw new Error(`${P.showFsPath(from)} is gone; cannot move it back`);
        if (!this.produced.has(P.pathKey(p)) || P.lstatMaybe(p)?.isDirectory()) this.clear(p, s.seq);
        fs.renameSync(from, p);
        this.produced.delete(P.pathKey(from));
        break;
      }
      case 'exchange': {
        const q = P.stepPath(s, 'path2');
        const tmp = P.siblingTemp(p, `warden-x-${this.result.rollbackId}-${s.seq}`);
        fs.renameSync(p, tmp);
        fs.renameSync(q, p);
        fs.renameSync(tmp, q);
        break;
      }
      case 'meta':
        if (!P.lstatMaybe(p)) return false;
        setMeta(p, s.meta, s.meta?.type === 'symlink');
        break;
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
        setMeta(p, { mode: 0o755, ...m }, false);
      } catch (e) {
        this.result.errors.push({ seq: 0, path: P.showFsPath(p), message: (e as Error).message });
      }
    }
  }
}

/**
 * Applies `plan` (from planRollback) and records it (plan + result) in the journal's `rollbacks` table.
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
    try {
      if (a.step(s)) a.result.applied++;
      else a.result.skipped++;
    } catch (e) {
      a.result.errors.push({ seq: s.seq, path: s.path, message: (e as Error).message });
    }
  }
  a.finishDirs();
  journal.finishRollback(id, a.result, a.result.errors.length ? 'partial' : 'applied');
  return a.result;
}
