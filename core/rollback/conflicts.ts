// Conflict detection for a rollback plan: has a path changed since the run left it?
//
// What the journal knows is each successful, allowed event of the run, so it knows, for every path the run
// touched, the state the run *left* it in: absent (deleted, or moved away by a rename) or present with a type
// (file written/created, symlink, directory). It does not know the final bytes (the helper records pre-images
// only), so "the content the run left" is judged by time: every change the run made happened before the run
// ended, so a non-directory whose mtime is later than the run's end was modified by someone else afterwards
// (mtime can be set backwards with utimes, so this catches honest later edits, not forgeries). Directories'
// mtimes change whenever an entry is added or removed, so they are only judged by time for `rmdir` (removing a
// directory the run created, into which someone has since put something). Checks, per path of each step:
//   - the run left it absent  -> it must be absent now;
//   - the run left it present -> it must exist, with the same type, and (non-directories) mtime <= run end.
import * as fs from 'node:fs';
import type { EventRow, Journal } from '../journal/journal.js';
import type { FsPath } from '../wire/events.js';
import * as P from './fspath.js';
import type { PlanConflict, PlanStep } from './plan.js';
import { tookEffect } from '../journal/types.js';

const RENAME_EXCHANGE = 2;
/** Slack for the end time (ms): the helper's timestamps are truncated to milliseconds. */
const SLACK_MS = 1;

type Kind = 'file' | 'dir' | 'symlink' | 'any';
interface Left {
  exists: boolean;
  kind: Kind;
  /** Display path (the first seen spelling) and exact bytes. */
  path: FsPath;
}

const typeKind = (t: string | undefined): Kind =>
  t === 'file' || t === 'dir' || t === 'symlink' ? t : 'any';

function kindOfStat(st: fs.Stats): Kind {
  return st.isDirectory() ? 'dir' : st.isSymbolicLink() ? 'symlink' : st.isFile() ? 'file' : 'any';
}

/** The state the run left each path it touched in, from its successful, allowed events in seq order. */
export function finalStates(events: EventRow[]): Map<string, Left> {
  const m = new Map<string, Left>();
  const set = (p: FsPath, exists: boolean, kind: Kind) => m.set(P.pathKey(p), { exists, kind, path: p });
  for (const e of events) {
    if (e.errno !== 0 || !tookEffect(e.decision) || e.path === null) continue;
    const p = e.path;
    switch (e.op) {
      case 'create':
        set(
          p,
          true,
          /symlink/.test(e.sys ?? '') ? 'symlink' : /^(open|creat)/.test(e.sys ?? '') ? 'file' : 'any',
        );
        break;
      case 'write':
        set(p, true, 'file');
        break;
      case 'delete':
        set(p, false, 'any');
        break;
      case 'mkdir':
        set(p, true, 'dir');
        break;
      case 'chmod': {
        const k = m.get(P.pathKey(p));
        set(p, true, k?.exists ? k.kind : 'any');
        break;
      }
      case 'rename': {
        if (e.path2 === null) break;
        const src = m.get(P.pathKey(p));
        const srcKind: Kind = src?.exists ? src.kind : typeKind(e.pre2?.type);
        if ((e.flags ?? 0) & RENAME_EXCHANGE) {
          const dst = m.get(P.pathKey(e.path2));
          const dstKind: Kind = dst?.exists ? dst.kind : typeKind(e.pre?.type);
          set(p, true, dstKind);
        } else set(p, false, 'any');
        set(e.path2, true, srcKind);
        break;
      }
      default:
        break;
    }
  }
  return m;
}

/** Why the current state of `p` differs from `left` (undefined if it does not). */
function conflictOf(p: FsPath, left: Left, endMs: number, judgeDirTime: boolean): string | undefined {
  const st = P.lstatMaybe(p);
  if (!left.exists) return st ? `exists now (a ${kindOfStat(st)}); the run left it absent` : undefined;
  if (!st) return 'is gone; the run left it in place';
  const k = kindOfStat(st);
  if (left.kind !== 'any' && k !== left.kind) return `is a ${k} now; the run left a ${left.kind}`;
  if ((k !== 'dir' || judgeDirTime) && st.mtimeMs > endMs + SLACK_MS)
    return `modified after the run ended (mtime ${new Date(st.mtimeMs).toISOString()}, run ended ${new Date(endMs).toISOString()})`;
  return undefined;
}

/**
 * Marks the steps whose path (or second path) changed since the run with `conflict`, and returns one entry per
 * conflicting path. Uses all of the run's events (not only those being undone): the run's last word on a path
 * is what must still be there.
 */
export function findConflicts(
  journal: Journal,
  runId: number,
  steps: PlanStep[],
  events: EventRow[] = journal.events(runId),
): PlanConflict[] {
  if (steps.length === 0) return [];
  const run = journal.getRun(runId);
  const endMs = run?.status !== 'running' && run?.endedAt ? run.endedAt : Date.now();
  const left = finalStates(events);
  const byPath = new Map<string, PlanConflict>();
  const checked = new Map<string, string | undefined>();
  for (const s of steps) {
    const paths: FsPath[] = [P.stepPath(s)];
    if (s.action === 'move-back' || s.action === 'exchange') paths.push(P.stepPath(s, 'path2'));
    for (const p of paths) {
      const key = P.pathKey(p);
      const l = left.get(key);
      if (!l) continue;
      const ck = `${s.action === 'rmdir' ? 'd' : '-'}${key}`;
      if (!checked.has(ck)) checked.set(ck, conflictOf(p, l, endMs, s.action === 'rmdir'));
      const reason = checked.get(ck);
      if (!reason) continue;
      s.conflict ??= `${P.showFsPath(p)} ${reason}`;
      let c = byPath.get(key);
      if (!c) {
        c = { path: P.showFsPath(p), reason, seqs: [] };
        if (Buffer.isBuffer(p)) c.pathHex = p.toString('hex');
        byPath.set(key, c);
      }
      if (!c.seqs.includes(s.seq)) c.seqs.push(s.seq);
    }
  }
  return [...byPath.values()];
}
