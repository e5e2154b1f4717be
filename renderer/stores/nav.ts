import { create } from 'zustand';

export type View = 'inbox' | 'timeline' | 'restore' | 'messages' | 'policies' | 'settings';

interface NavState {
  view: View;
  go(v: View): void;
}

const VIEWS: View[] = ['inbox', 'timeline', 'restore', 'messages', 'policies', 'settings'];

/**
 * The first view from the URL fragment: `#/<view>` (Electron's approval window opens `#/inbox?compact=1`) or
 * `view=<name>` (e.g. `#token=…&view=timeline`); else the Inbox.
 */
export function initialView(hash: string = typeof location === 'undefined' ? '' : location.hash): View {
  const m = /^#\/([a-z]+)/.exec(hash) ?? /(?:^#|[&?#])view=([a-z]+)/.exec(hash);
  const v = m?.[1] as View | undefined;
  return v && VIEWS.includes(v) ? v : 'inbox';
}

export const useNav = create<NavState>((set) => ({ view: initialView(), go: (view) => set({ view }) }));

/** `compact=1` in the fragment: the small always-on-top approval window (tighter layout). */
export function isCompact(hash: string = typeof location === 'undefined' ? '' : location.hash): boolean {
  return /[&?#]compact=1\b/.test(hash);
}
