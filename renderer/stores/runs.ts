import { create } from 'zustand';
import { api, errorText } from './api';
import type { ApiEvent, RunLog, RunRow } from './types';

/** Events fetched per `run.log` call. */
export const PAGE_SIZE = 1000;

export interface EventFilters {
  /** Sent to the daemon (`run.log` `op`); '' = all. */
  op: string;
  /** Substring of path or path2, applied to loaded events; '' = all. */
  path: string;
  /** Decision (allow, deny, ask, delay, steer…), applied to loaded events; '' = all. */
  decision: string;
}

interface RunsState {
  runs: RunRow[];
  runsLoading: boolean;
  runsError: string | null;
  selectedRun: number | null;
  /** Loaded events of the selected run (op filter applied by the daemon), in seq order. */
  events: ApiEvent[];
  /** Every event up to the end of the log is loaded. */
  done: boolean;
  eventsLoading: boolean;
  eventsError: string | null;
  filters: EventFilters;
  selectedSeq: number | null;
  loadRuns(): Promise<void>;
  selectRun(run: number | null): Promise<void>;
  /** Loads the next page of the selected run's events (after the last loaded seq). */
  loadMore(): Promise<void>;
  setFilters(f: Partial<EventFilters>): void;
  selectEvent(seq: number | null): void;
}

let generation = 0;

export const useRuns = create<RunsState>((set, get) => ({
  runs: [],
  runsLoading: false,
  runsError: null,
  selectedRun: null,
  events: [],
  done: false,
  eventsLoading: false,
  eventsError: null,
  filters: { op: '', path: '', decision: '' },
  selectedSeq: null,
  loadRuns: async () => {
    set({ runsLoading: true });
    try {
      const runs = await api<RunRow[]>('runs.list', { limit: 200 });
      set({ runs, runsLoading: false, runsError: null });
    } catch (e) {
      set({ runsLoading: false, runsError: errorText(e) });
    }
  },
  selectRun: async (run) => {
    generation++;
    set({
      selectedRun: run,
      events: [],
      done: run === null,
      eventsLoading: false,
      eventsError: null,
      selectedSeq: null,
    });
    if (run !== null) await get().loadMore();
  },
  loadMore: async () => {
    const s = get();
    if (s.selectedRun === null || s.done || s.eventsLoading) return;
    const gen = generation;
    const afterSeq = s.events.length ? s.events[s.events.length - 1]!.seq : 0;
    set({ eventsLoading: true });
    try {
      const params: Record<string, unknown> = { run: s.selectedRun, afterSeq, limit: PAGE_SIZE };
      if (s.filters.op) params.op = s.filters.op;
      const log = await api<RunLog>('run.log', params);
      if (gen !== generation) return;
      const page = log.events ?? [];
      set((st) => ({
        events: page.length ? st.events.concat(page) : st.events,
        done: page.length < PAGE_SIZE,
        eventsLoading: false,
        eventsError: null,
      }));
    } catch (e) {
      if (gen !== generation) return;
      set({ eventsLoading: false, eventsError: errorText(e) });
    }
  },
  setFilters: (f) => {
    const prev = get().filters;
    const filters = { ...prev, ...f };
    set({ filters });
    if (filters.op !== prev.op && get().selectedRun !== null) {
      // The op filter is applied by the daemon: start over.
      generation++;
      set({ events: [], done: false, eventsLoading: false, selectedSeq: null });
      void get().loadMore();
    }
  },
  selectEvent: (seq) => set({ selectedSeq: seq }),
}));

/** The loaded events that pass the path and decision filters. */
export function filterEvents(events: ApiEvent[], f: EventFilters): ApiEvent[] {
  if (!f.path && !f.decision) return events;
  const needle = f.path.toLowerCase();
  return events.filter(
    (e) =>
      (!f.decision || e.decision === f.decision) &&
      (!needle ||
        (e.path ?? '').toLowerCase().includes(needle) ||
        (e.path2 ?? '').toLowerCase().includes(needle)),
  );
}
