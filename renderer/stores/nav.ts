import { create } from 'zustand';

export type View = 'inbox' | 'timeline' | 'restore' | 'policies' | 'settings';

interface NavState {
  view: View;
  go(v: View): void;
}

export const useNav = create<NavState>((set) => ({ view: 'inbox', go: (view) => set({ view }) }));
