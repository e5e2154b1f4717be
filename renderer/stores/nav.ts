import { create } from 'zustand';

export type View = 'inbox' | 'timeline' | 'restore' | 'policies' | 'settings';

interface NavState {
  view: View;
  go(v: View): void;
}

const VIEWS: View[] = ['inbox', 'timeline', 'restore', 'policies', 'settings'];

/** The first view: `view=<name>` in the URL fragment (e.g. `#token=…&view=timeline`; Electron's approval window
 * opens `#view=inbox`), else the Inbox. */
export function initialView(hash: string = typeof location === 'undefined' ? '' : location.hash): View {
  const m = /(?:^#|[&?#])view=([a-z]+)/.exec(hash);
  const v = m?.[1] as View | undefined;
  return v && VIEWS.includes(v) ? v : 'inbox';
}

export const useNav = create<NavState>((set) => ({ view: initialView(), go: (view) => set({ view }) }));
