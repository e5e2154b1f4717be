import { create } from 'zustand';
import type { Hold, Push } from '../../core/api/contract';
import { api, errorText } from './api';
import { ApiError } from '../transport/types';

export type Scope = 'once' | 'burst' | 'run' | 'always';

interface HoldsState {
  /** Pending holds, newest first. */
  holds: Hold[];
  loading: boolean;
  error: string | null;
  /** Per-hold error of the last decide attempt. */
  decideErrors: Record<string, string>;
  /** Holds with a decide call in flight. */
  busy: Record<string, boolean>;
  /**
   * Who answered the holds this page saw resolve, by `<run>:<seq>` of the held event (the journal does not keep
   * it yet; the Timeline shows it when an event carries no `by` of its own).
   */
  decidedBy: Record<string, string>;
  /** Ids answered elsewhere or timed out recently, with how (for an aria-live note). */
  lastResolved: { id: string; decision: string; by: string } | null;
  load(): Promise<void>;
  applyPush(p: Push): void;
  decide(id: string, decision: 'allow' | 'deny', scope?: Scope): Promise<{ rule: string | null } | null>;
  /** Denies every pending hold of `run`, each once. */
  denyAllOfRun(run: number): Promise<void>;
}

/** Ids resolved recently (by push or by our own answer): a `holds.list` answer in flight must not revive them. */
const resolved = new Set<string>();
function markResolved(id: string): void {
  resolved.add(id);
  if (resolved.size > 1000) resolved.delete(resolved.values().next().value as string);
}

/** Holds seen (id → run and seq), so a `hold.resolved` arriving after our own answer still maps to its event. */
const seen = new Map<string, { run: number; seq: number }>();

/** Forgets the resolved ids (tests reuse hold ids). */
export function forgetResolved(): void {
  resolved.clear();
  seen.clear();
}

const newestFirst = (a: Hold, b: Hold) => b.ts - a.ts || b.hold - a.hold;

function without<T>(o: Record<string, T>, k: string): Record<string, T> {
  if (!(k in o)) return o;
  const c = { ...o };
  delete c[k];
  return c;
}

export const useHolds = create<HoldsState>((set, get) => ({
  holds: [],
  loading: false,
  error: null,
  decideErrors: {},
  busy: {},
  decidedBy: {},
  lastResolved: null,
  load: async () => {
    set({ loading: true });
    try {
      const list = await api<Hold[]>('holds.list', {});
      for (const h of list) seen.set(h.id, { run: h.run, seq: h.seq });
      set({ holds: list.filter((h) => !resolved.has(h.id)).sort(newestFirst), loading: false, error: null });
    } catch (e) {
      set({ loading: false, error: errorText(e) });
    }
  },
  applyPush: (p) => {
    if (p.type === 'hold.new') {
      // a helper re-sends its pending holds to a restarted daemon: the hold is pending again
      resolved.delete(p.hold.id);
      seen.set(p.hold.id, { run: p.hold.run, seq: p.hold.seq });
      const rest = get().holds.filter((h) => h.id !== p.hold.id);
      set({ holds: [p.hold, ...rest].sort(newestFirst) });
    } else if (p.type === 'hold.resolved') {
      // 'gone': the helper's connection dropped; it reconnects and re-sends the hold, so a later
      // holds.list may list it again
      if (p.by !== 'gone') markResolved(p.id);
      const h = get().holds.find((x) => x.id === p.id) ?? seen.get(p.id);
      set((s) => ({
        decidedBy: h ? { ...s.decidedBy, [`${h.run}:${h.seq}`]: p.by } : s.decidedBy,
        holds: s.holds.filter((h) => h.id !== p.id),
        busy: without(s.busy, p.id),
        decideErrors: without(s.decideErrors, p.id),
        lastResolved: { id: p.id, decision: p.decision, by: p.by },
      }));
    }
  },
  decide: async (id, decision, scope = 'once') => {
    set((s) => ({ busy: { ...s.busy, [id]: true }, decideErrors: without(s.decideErrors, id) }));
    try {
      const r = (await api<{ rule: string | null }>('holds.decide', { id, decision, scope })) ?? {
        rule: null,
      };
      markResolved(id);
      const h = get().holds.find((x) => x.id === id);
      set((s) => ({
        holds: s.holds.filter((x) => x.id !== id),
        busy: without(s.busy, id),
        decidedBy: h ? { ...s.decidedBy, [`${h.run}:${h.seq}`]: 'person' } : s.decidedBy,
      }));
      return r;
    } catch (e) {
      if (e instanceof ApiError && e.code === 'no-such-hold') {
        // Answered elsewhere or timed out meanwhile: it is no longer pending.
        markResolved(id);
        set((s) => ({ holds: s.holds.filter((h) => h.id !== id), busy: without(s.busy, id) }));
        return null;
      }
      set((s) => ({ busy: without(s.busy, id), decideErrors: { ...s.decideErrors, [id]: errorText(e) } }));
      return null;
    }
  },
  denyAllOfRun: async (run) => {
    const ids = get()
      .holds.filter((h) => h.run === run)
      .map((h) => h.id);
    for (const id of ids) {
      // Denying one delete stops the rest of its burst: skip holds that got resolved meanwhile.
      if (!get().holds.some((h) => h.id === id)) continue;
      await get().decide(id, 'deny', 'once');
    }
  },
}));
