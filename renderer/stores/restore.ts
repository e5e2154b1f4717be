import { create } from 'zustand';
import { api, errorText } from './api';
import type { ApplyResult, RollbackPlan } from './types';

interface RestoreState {
  run: number | null;
  plan: RollbackPlan | null;
  force: boolean;
  result: ApplyResult | null;
  undoResult: ApplyResult | null;
  busy: 'plan' | 'apply' | 'undo' | null;
  error: string | null;
  /** Picks a run and computes its dry-run plan. */
  pick(run: number | null): Promise<void>;
  plan_(): Promise<void>;
  setForce(force: boolean): void;
  apply(): Promise<void>;
  undo(): Promise<void>;
}

export const useRestore = create<RestoreState>((set, get) => ({
  run: null,
  plan: null,
  force: false,
  result: null,
  undoResult: null,
  busy: null,
  error: null,
  pick: async (run) => {
    set({ run, plan: null, result: null, undoResult: null, error: null, force: false });
    if (run !== null) await get().plan_();
  },
  plan_: async () => {
    const run = get().run;
    if (run === null) return;
    set({ busy: 'plan', error: null });
    try {
      const plan = await api<RollbackPlan>('rollback.plan', { run, paths: [], all: false });
      if (get().run === run) set({ plan, busy: null });
    } catch (e) {
      set({ busy: null, error: errorText(e) });
    }
  },
  setForce: (force) => set({ force }),
  apply: async () => {
    const { run, force } = get();
    if (run === null) return;
    set({ busy: 'apply', error: null, undoResult: null });
    try {
      const result = await api<ApplyResult>('rollback.apply', { run, paths: [], all: false, force });
      set({ result, busy: null });
    } catch (e) {
      set({ busy: null, error: errorText(e) });
    }
  },
  undo: async () => {
    const result = get().result;
    if (!result) return;
    set({ busy: 'undo', error: null });
    try {
      const undoResult = await api<ApplyResult>('rollback.undo', { rollback: result.rollbackId });
      set({ undoResult, busy: null });
    } catch (e) {
      set({ busy: null, error: errorText(e) });
    }
  },
}));
