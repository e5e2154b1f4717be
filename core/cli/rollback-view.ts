/**
 * Text renderings of a rollback plan (dry run) and of an applied rollback's result.
 */
import { showPath } from './common.js';

interface Step {
  seq?: number;
  action: string;
  path: string;
  path2?: string | null;
  note?: string;
}

/** The dry-run plan: one line per step, then what cannot be restored. */
export function renderPlan(plan: unknown): string {
  const p = plan as { run?: number; steps?: Step[]; irreversible?: Step[] };
  const steps = p.steps ?? [];
  const out = [`Rollback plan for run ${p.run ?? '?'}: ${steps.length} step(s)`];
  for (const s of steps) {
    const target = s.path2 ? `${showPath(s.path2)} -> ${showPath(s.path)}` : showPath(s.path);
    out.push(
      `  ${s.action.padEnd(10)} ${target}${s.note ? `  (${s.note})` : ''}${s.seq ? `  [event #${s.seq}]` : ''}`,
    );
  }
  for (const s of p.irreversible ?? [])
    out.push(`  cannot    ${showPath(s.path)}  (${s.note ?? 'irreversible'})`);
  const conflicts = (plan as { conflicts?: { path: string; reason: string }[] }).conflicts ?? [];
  for (const c of conflicts)
    out.push(`  conflict  ${showPath(c.path)}  (${c.reason}; skipped unless --force)`);
  if (steps.length === 0) out.push('  nothing to restore');
  return out.join('\n') + '\n';
}

/** What an applied rollback did. */
export function renderRollbackResult(result: unknown): string {
  const r = result as {
    rollbackId?: number;
    applied?: number;
    skipped?: number;
    movedAside?: string[];
    errors?: { path: string; message: string }[];
    conflicts?: { path: string; reason: string }[];
  };
  const out = [
    `Rollback ${r.rollbackId ?? '?'}: ${r.applied ?? 0} step(s) applied, ${r.skipped ?? 0} skipped.`,
  ];
  for (const c of r.conflicts ?? [])
    out.push(`  skipped (conflict): ${showPath(c.path)}: ${c.reason} — rerun with --force`);
  if (r.movedAside?.length)
    out.push(
      `  ${r.movedAside.length} path(s) that were in the way were moved aside into the state dir, not deleted.`,
    );
  for (const e of r.errors ?? []) out.push(`  error: ${showPath(e.path)}: ${e.message}`);
  return out.join('\n') + '\n';
}
