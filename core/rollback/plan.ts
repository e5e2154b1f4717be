// Rollback planning: the inverse of each successful, allowed event of a run, in reverse seq order.
import picomatch from 'picomatch';
import type { EventRow, Journal } from '../journal/journal.js';
import type { FsPath, Pre } from '../wire/events.js';
import { findConflicts } from './conflicts.js';
import { tookEffect } from '../journal/types.js';

/**
 * What a step restores besides bytes. Times are [seconds, nanoseconds]; `target` is a symlink target
 * (`targetHex` instead when it is not UTF-8).
 */
export interface StepMeta {
  type?: string;
  mode?: number;
  /** Size in bytes (file pre-images). */
  size?: number;
  uid?: number;
  gid?: number;
  mtime?: [number, number];
  atime?: [number, number];
  target?: string;
  targetHex?: string;
}

/**
 * One plan step (plain JSON). Paths are display strings; when a path is not UTF-8, `pathHex`/`path2Hex`
 * carry its exact bytes and win over `path`/`path2`. Actions:
 * - `remove`: move `path` aside (undo of a create);
 * - `restore`: write blob `sha` to `path` atomically, then meta (undo of write/truncate/delete/rename-over);
 * - `symlink`: recreate the symlink `path` → meta.target;  `mkdir`: recreate directory `path` with meta;
 * - `rmdir`: remove directory `path` (moved aside if not empty) (undo of mkdir);
 * - `move-back`: rename `path2` (where the run moved it) back to `path`; `exchange`: swap `path`/`path2` again;
 * - `meta`: restore mode/uid/gid/times of `path` (undo of chmod/chown/utimes);
 * - `irreversible`: listed only (in RollbackPlan.irreversible), never applied.
 */
export interface PlanStep {
  seq: number;
  action:
    'remove' | 'restore' | 'symlink' | 'mkdir' | 'rmdir' | 'move-back' | 'exchange' | 'meta' | 'irreversible';
  path: string;
  pathHex?: string;
  path2?: string;
  path2Hex?: string;
  sha?: string;
  meta?: StepMeta;
  note: string;
  /** Set when the path changed after the run (see RollbackPlan.conflicts): skipped on apply unless forced. */
  conflict?: string;
}

/**
 * A path whose current state differs from what the run left there (someone changed it after the run).
 * `seqs` are the events whose steps touch it.
 */
export interface PlanConflict {
  path: string;
  pathHex?: string;
  reason: string;
  seqs: number[];
}

/** A dry-runnable rollback plan: steps in application order plus what cannot be undone. */
export interface RollbackPlan {
  run: number;
  createdAt: number;
  untilSeq: number;
  paths: string[] | null;
  steps: PlanStep[];
  irreversible: PlanStep[];
  /** Paths changed since the run; their steps carry `conflict` and are skipped on apply unless forced. */
  conflicts: PlanConflict[];
}

export interface PlanOptions {
  /** picomatch globs on absolute paths (dot files included); an event matches if either of its paths does. */
  paths?: string[];
  /** Undo only events with seq > untilSeq, i.e. restore the state right after event `untilSeq` (default 0). */
  untilSeq?: number;
}

const RENAME_EXCHANGE = 2;

/** Display string of an FsPath (non-UTF-8 bytes as latin1, so globs still see one char per byte). */
export function displayPath(p: FsPath): string {
  return typeof p === 'string' ? p : p.toString('latin1');
}

function pathFields(p: FsPath, which: 'path' | 'path2'): Partial<PlanStep> & { path?: string } {
  if (typeof p === 'string') return { [which]: p };
  return { [which]: displayPath(p), [`${which}Hex`]: p.toString('hex') };
}

function metaOf(pre: Pre): StepMeta {
  const m: StepMeta = {};
  for (const k of ['type', 'mode', 'size', 'uid', 'gid', 'mtime', 'atime'] as const) {
    if (pre[k] !== undefined) (m as Record<string, unknown>)[k] = pre[k];
  }
  if (pre.target !== undefined && pre.target !== null) {
    if (typeof pre.target === 'string') m.target = pre.target;
    else m.targetHex = pre.target.toString('hex');
  }
  return m;
}

/** Steps that recreate what `pre` describes at `path` (a deleted or replaced object). */
function recreate(e: EventRow, pre: Pre | null, path: FsPath, what: string): Omit<PlanStep, 'seq'>[] {
  const at = pathFields(path, 'path') as { path: string };
  if (!pre || pre.kind === 'none') return [];
  if (pre.kind === 'toolarge')
    return [{ action: 'irreversible', ...at, note: `${what}: file above pre-image limit` }];
  const meta = metaOf(pre);
  if (pre.type === 'symlink') return [{ action: 'symlink', ...at, meta, note: `recreate symlink (${what})` }];
  if (pre.type === 'dir') return [{ action: 'mkdir', ...at, meta, note: `recreate directory (${what})` }];
  if (pre.type === 'file' || pre.type === undefined) {
    if (e.preSha) return [{ action: 'restore', ...at, sha: e.preSha, meta, note: `restore file (${what})` }];
    return [{ action: 'irreversible', ...at, note: `${what}: pre-image missing` }];
  }
  return [{ action: 'irreversible', ...at, note: `${what}: cannot recreate a ${pre.type}` }];
}

/** The inverse steps of one event, in application order. */
function invert(e: EventRow): Omit<PlanStep, 'seq'>[] {
  const path = e.path as FsPath;
  const at = pathFields(path, 'path') as { path: string };
  const pre = e.pre;
  switch (e.op) {
    case 'create':
    case 'write':
      if (!pre || pre.kind === 'none')
        return [{ action: 'remove', ...at, note: `remove what the run created` }];
      if (pre.kind === 'meta')
        return [{ action: 'meta', ...at, meta: metaOf(pre), note: 'restore metadata' }];
      return recreate(e, pre, path, e.op === 'write' ? 'overwritten' : 'replaced');
    case 'delete':
      return recreate(e, pre, path, 'deleted');
    case 'mkdir':
      return [{ action: 'rmdir', ...at, note: 'remove directory the run created' }];
    case 'chmod':
      return pre ? [{ action: 'meta', ...at, meta: metaOf(pre), note: 'restore mode/owner/times' }] : [];
    case 'rename': {
      const dst = e.path2 as FsPath;
      const both = { ...at, ...pathFields(dst, 'path2') };
      if ((e.flags ?? 0) & RENAME_EXCHANGE) return [{ action: 'exchange', ...both, note: 'swap back' }];
      return [
        { action: 'move-back', ...both, note: 'move back' },
        ...recreate(e, pre, dst, 'replaced by rename'),
      ];
    }
    case 'connect':
      return [{ action: 'irreversible', ...at, note: 'network connection' }];
    default:
      return [];
  }
}

/**
 * A matcher for picomatch globs that also matches names containing newlines: picomatch compiles `*` and `**`
 * to regexes built on `.`, which stops at `\n`, so the regexes are recompiled with the `s` (dotAll) flag.
 */
function pathMatcher(globs: string[]): (p: string) => boolean {
  const res = globs.map((g) => {
    const re = picomatch.makeRe(g, { dot: true });
    return new RegExp(re.source, re.flags.includes('s') ? re.flags : re.flags + 's');
  });
  return (p) => res.some((re) => re.test(p));
}

/**
 * Computes the rollback of run `runId` from its journaled events (successful, allowed ones only).
 * @throws Error if the run does not exist.
 */
export function planRollback(journal: Journal, runId: number, o: PlanOptions = {}): RollbackPlan {
  // Conflicts: see conflicts.ts. Steps whose path (or path2) changed after the run get `conflict`.
  if (!journal.getRun(runId)) throw new Error(`no run ${runId}`);
  const untilSeq = o.untilSeq ?? 0;
  const match = o.paths?.length ? pathMatcher(o.paths) : null;
  const steps: PlanStep[] = [];
  const irreversible: PlanStep[] = [];
  const all = journal.events(runId);
  let first = all.findIndex((e) => e.seq > untilSeq);
  if (first < 0) first = all.length;
  for (let i = all.length - 1; i >= first; i--) {
    const e = all[i] as EventRow;
    if (e.errno !== 0 || !tookEffect(e.decision) || e.path === null) continue;
    if (match && !match(displayPath(e.path)) && !(e.path2 !== null && match(displayPath(e.path2)))) continue;
    for (const s of invert(e))
      (s.action === 'irreversible' ? irreversible : steps).push({ seq: e.seq, ...s });
  }
  const conflicts = findConflicts(journal, runId, steps, all);
  return {
    run: runId,
    createdAt: Date.now(),
    untilSeq,
    paths: o.paths ?? null,
    steps,
    irreversible,
    conflicts,
  };
}
