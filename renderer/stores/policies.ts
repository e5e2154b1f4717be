import { create } from 'zustand';
import { api, errorText } from './api';
import type { RuleRow } from './types';

interface PoliciesState {
  rules: RuleRow[];
  loaded: boolean;
  error: string | null;
  load(): Promise<void>;
}

export const usePolicies = create<PoliciesState>((set) => ({
  rules: [],
  loaded: false,
  error: null,
  load: async () => {
    try {
      const rules = await api<RuleRow[]>('policy.show', { policies: [] });
      set({ rules, loaded: true, error: null });
    } catch (e) {
      set({ error: errorText(e), loaded: true });
    }
  },
}));
