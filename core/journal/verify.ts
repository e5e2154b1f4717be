// `warden verify` and `warden runs show`: the journal's integrity check and one run's full account.
import type { VerifyResult } from './chain.js';
import { verifyChains } from './chain.js';
import type { Journal } from './journal.js';
import { runLedger, type LedgerEntry } from './ledger.js';
import type { RunRow, RunSummary } from './types.js';

export type { VerifyProblem, VerifyResult } from './chain.js';
export { loadJournalKey } from './chain.js';

/**
 * Checks every chained row (events, processes, rollbacks) against its HMAC and its predecessor, and the chain
 * heads; stops at the first problem. `key` defaults to the journal's own (state/journal.key).
 */
export function verifyJournal(journal: Journal, key?: Buffer): VerifyResult {
  return key ? verifyChains(journal.db, key) : journal.verify();
}

/** One rollback of a run, as `runs show` lists it. */
export interface RollbackBrief {
  id: number;
  createdAt: number;
  status: string;
  /** Set on an undo: the rollback it reversed. */
  undoOf: number | null;
  /** Set on an undone rollback: the undo's id. */
  undoneBy: number | null;
  applied: number | null;
  skipped: number | null;
  conflicts: number;
  errors: number;
}

/** Result of showRun (daemon method `run.show`). */
export interface RunShow {
  run: RunRow;
  summary: RunSummary;
  ledger: LedgerEntry[];
  faults: { ts: number; what: string }[];
  rollbacks: RollbackBrief[];
}

/** A run's details, counts, irreversibility ledger, faults and rollbacks. @throws if there is no such run. */
export function showRun(journal: Journal, ref: number | 'last'): RunShow {
  const run = journal.getRun(ref);
  if (!run) throw new Error(ref === 'last' ? 'no runs yet' : `no run ${ref}`);
  const rollbacks = journal.rollbacks(run.id).map((r): RollbackBrief => {
    const plan = (r.plan ?? {}) as { undoOf?: number };
    const res = (r.result ?? {}) as {
      applied?: number;
      skipped?: number;
      conflicts?: unknown[];
      errors?: unknown[];
      undoneBy?: number;
    };
    return {
      id: r.id,
      createdAt: r.createdAt,
      status: r.status,
      undoOf: plan.undoOf ?? null,
      undoneBy: res.undoneBy ?? null,
      applied: res.applied ?? null,
      skipped: res.skipped ?? null,
      conflicts: res.conflicts?.length ?? 0,
      errors: res.errors?.length ?? 0,
    };
  });
  return {
    run,
    summary: journal.runSummary(run.id),
    ledger: runLedger(journal, run.id),
    faults: journal.faults(run.id),
    rollbacks,
  };
}
