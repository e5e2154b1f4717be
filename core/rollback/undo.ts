// Undo of an applied rollback: replays its recorded UndoActions backwards. Like a rollback, an undo never
// destroys anything it did not make: whatever is in its way (or a file the rollback restored that has been
// changed since) is moved into state/rollbacks/<undo id>/aside/. The undo is a rollbacks row of its own
// (plan {undoOf}); the undone rollback's status becomes 'undone' and its result gains `undoneBy`.
import * as fs from 'node:fs';
import { join } from 'node:path';
import type { BlobStore } from '../blobs/store.js';
import type { Journal } from '../journal/journal.js';
import type { FsPath } from '../wire/events.js';
import { setMeta, unref, type ApplyResult, type UndoAction } from './apply.js';
import * as P from './fspath.js';
import type { StepMeta } from './plan.js';

export interface UndoOptions {
  /** The state dir; the undo's aside area is `<stateDir>/rollbacks/<undo id>/aside/`. */
  stateDir: string;
}

class Undoer {
  readonly result: ApplyResult;
  private readonly aside: string;
  /** Directory metas (mode + times) set at the end, once nothing else changes inside them. */
  private readonly dirMeta: { p: FsPath; m: StepMeta }[] = [];

  constructor(stateDir: string, id: number, of: number) {
    this.aside = join(stateDir, 'rollbacks', String(id), 'aside');
    this.result = {
      rollbackId: id,
      applied: 0,
      skipped: 0,
      movedAside: [],
      errors: [],
      conflicts: [],
      undoOf: of,
    };
  }

  /** Moves whatever is at `p` into this undo's aside area. */
  private clear(p: FsPath): void {
    if (!P.lstatMaybe(p)) return;
    let dest = P.under(this.aside, p);
    for (let n = 1; P.lstatMaybe(dest); n++) dest = P.under(this.aside, p, `.~${n}`);
    P.moveAcross(p, dest);
    this.result.movedAside.push({ path: P.showFsPath(p), aside: P.showFsPath(dest), seq: 0 });
  }

  /** Reverses one action; false when there was nothing to do. */
  reverse(x: UndoAction): boolean {
    switch (x.a) {
      case 'aside': {
        const p = unref(x.path);
        const from = unref(x.aside);
        if (!P.lstatMaybe(from)) throw new Error(`${P.showFsPath(from)} (moved aside) is gone`);
        this.clear(p);
        fs.mkdirSync(P.parentOf(p), { recursive: true });
        P.moveAcross(from, p);
        return true;
      }
      case 'created': {
        const p = unref(x.path);
        const st = P.lstatMaybe(p);
        if (!st) return false;
        if (x.kind === 'dir') {
          if (!st.isDirectory()) return (this.clear(p), true);
          try {
            fs.rmdirSync(p);
          } catch (e) {
            const code = (e as NodeJS.ErrnoException).code;
            if (code !== 'ENOTEMPTY' && code !== 'EEXIST') throw e;
            this.clear(p); // someone put something in it since
          }
          return true;
        }
        const now = fs.lstatSync(p, { bigint: true });
        if (String(now.ino) === x.ino && (x.mtimeNs === undefined || String(now.mtimeNs) === x.mtimeNs))
          fs.unlinkSync(p); // still exactly what the rollback wrote
        else this.clear(p); // changed since: keep it
        return true;
      }
      case 'rmdir': {
        const p = unref(x.path);
        const st = P.lstatMaybe(p);
        if (st && !st.isDirectory()) this.clear(p);
        if (!st || !st.isDirectory()) fs.mkdirSync(p, { mode: 0o700 });
        this.dirMeta.push({ p, m: x.meta });
        return true;
      }
      case 'rename': {
        const to = unref(x.to);
        const from = unref(x.from);
        if (!P.lstatMaybe(to)) throw new Error(`${P.showFsPath(to)} is gone; cannot move it back`);
        this.clear(from);
        fs.mkdirSync(P.parentOf(from), { recursive: true });
        fs.renameSync(to, from);
        return true;
      }
      case 'exchange': {
        const p = unref(x.p);
        const q = unref(x.q);
        const tmp = P.siblingTemp(p, `warden-ux-${this.result.rollbackId}`);
        fs.renameSync(p, tmp);
        fs.renameSync(q, p);
        fs.renameSync(tmp, q);
        return true;
      }
      case 'meta': {
        const p = unref(x.path);
        const st = P.lstatMaybe(p);
        if (!st) return false;
        if (st.isDirectory()) this.dirMeta.push({ p, m: x.prev });
        else setMeta(p, x.prev, x.link);
        return true;
      }
    }
  }

  /** Directory metas, in the order recorded (the reverse of the rollback's), once their contents are back. */
  finishDirs(): void {
    for (const { p, m } of this.dirMeta) {
      try {
        if (P.lstatMaybe(p)) setMeta(p, m, false);
      } catch (e) {
        this.result.errors.push({ seq: 0, path: P.showFsPath(p), message: (e as Error).message });
      }
    }
  }
}

/** Removes `dir` if it holds only (nested) empty directories. */
function removeEmptyTree(dir: string): void {
  let st: fs.Stats;
  try {
    st = fs.lstatSync(dir);
  } catch {
    return;
  }
  if (!st.isDirectory()) return;
  for (const n of fs.readdirSync(dir)) removeEmptyTree(join(dir, n));
  try {
    fs.rmdirSync(dir);
  } catch {
    /* not empty: keep */
  }
}

/**
 * Undoes rollback `rollbackId`: puts back what it moved aside and removes (or, if changed since, moves
 * aside) what it restored, returning the tree to the state before the rollback. Journaled as a new
 * rollbacks row; a rollback can be undone once.
 * @throws Error if the rollback does not exist, is an undo itself, did not finish, has no undo record
 *   (applied by an older Warden) or was already undone.
 */
export function undoRollback(
  journal: Journal,
  _blobs: BlobStore,
  rollbackId: number,
  o: UndoOptions,
): ApplyResult {
  const rb = journal.getRollback(rollbackId);
  if (!rb) throw new Error(`no rollback ${rollbackId}`);
  const plan = rb.plan as { undoOf?: number } | null;
  if (plan && typeof plan.undoOf === 'number')
    throw new Error(
      `rollback ${rollbackId} is itself the undo of rollback ${plan.undoOf}; it cannot be undone`,
    );
  const result = rb.result as (ApplyResult & { actions?: UndoAction[]; undoneBy?: number }) | null;
  if (rb.status === 'undone' || result?.undoneBy !== undefined)
    throw new Error(`rollback ${rollbackId} was already undone (by rollback ${result?.undoneBy ?? '?'})`);
  if (rb.status !== 'applied' && rb.status !== 'partial')
    throw new Error(`rollback ${rollbackId} did not finish (status ${rb.status}); it cannot be undone`);
  if (!result || !Array.isArray(result.actions))
    throw new Error(`rollback ${rollbackId} has no undo record (applied by an older Warden)`);
  const id = journal.insertRollback(rb.runId, { undoOf: rollbackId }, 'applying');
  // Mark the original first: a crash mid-undo must not allow a second, conflicting undo.
  journal.finishRollback(rollbackId, { ...result, undoneBy: id }, 'undone');
  const u = new Undoer(o.stateDir, id, rollbackId);
  for (const x of [...result.actions].reverse()) {
    try {
      if (u.reverse(x)) u.result.applied++;
      else u.result.skipped++;
    } catch (e) {
      const p = 'path' in x ? x.path : 'to' in x ? x.to : x.p;
      u.result.errors.push({ seq: 0, path: P.showFsPath(unref(p)), message: (e as Error).message });
    }
  }
  u.finishDirs();
  removeEmptyTree(join(o.stateDir, 'rollbacks', String(rollbackId), 'aside'));
  journal.finishRollback(id, u.result, u.result.errors.length ? 'partial' : 'applied');
  return u.result;
}
