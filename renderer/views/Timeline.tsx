import { useEffect, useMemo, useRef } from 'react';
import { useVirtualizer } from '@tanstack/react-virtual';
import { filterEvents, useRuns } from '../stores/runs';
import { useRestore } from '../stores/restore';
import { useNav } from '../stores/nav';
import { usePolicies } from '../stores/policies';
import { useHolds } from '../stores/holds';
import { formatArgv, formatTime } from '../app/format';
import type { ApiEvent, RunRow } from '../stores/types';

export const OPS = [
  'read',
  'write',
  'create',
  'delete',
  'rename',
  'mkdir',
  'chmod',
  'exec',
  'connect',
  'message',
  'mcp_call',
];
export const DECISIONS = ['allow', 'deny', 'ask', 'delay', 'steer'];
/** Height of one event row in px (fixed, so the virtualizer needs no measuring). */
export const ROW_HEIGHT = 28;

function counts(r: RunRow): string {
  const s = r.summary ?? {};
  const parts: string[] = [];
  for (const k of ['events', 'denied', 'held', 'preimages', 'irreversible']) {
    const v = s[k];
    if (typeof v === 'number') parts.push(`${v.toLocaleString()} ${k}`);
  }
  return parts.join(' · ');
}

function RunItem({ run, selected }: { run: RunRow; selected: boolean }) {
  const selectRun = useRuns((s) => s.selectRun);
  const pick = useRestore((s) => s.pick);
  const go = useNav((s) => s.go);
  return (
    <li className={`run-row${selected ? ' selected' : ''}`} data-testid="run-row" data-run-id={run.id}>
      <button
        type="button"
        className="run-select"
        aria-pressed={selected}
        onClick={() => void selectRun(run.id)}
      >
        <span className="run-id">Run {run.id}</span> <code className="run-argv">{formatArgv(run.argv)}</code>
        <span className="run-meta">
          {run.workspace ?? run.cwd ?? '—'} · {formatTime(run.startedAt)} →{' '}
          {run.endedAt ? formatTime(run.endedAt) : run.status}
          {counts(run) ? ` · ${counts(run)}` : ''}
        </span>
      </button>
      <button
        type="button"
        data-testid="restore-run"
        onClick={() => {
          go('restore');
          void pick(run.id);
        }}
      >
        Restore files changed by this run
      </button>
    </li>
  );
}

/**
 * Who decided an event: its `by` field when the daemon sends one (person, timeout, policy, …). Without it,
 * an event under an allow/deny/steer rule was decided by the policy; one under an ask/delay rule (looked up in
 * `policy.show`) was answered as a hold, by a person or a timeout, which the journal did not record.
 */
export function eventSource(e: ApiEvent, ruleDecision: string | undefined, seenBy?: string): string {
  if (e.by) return e.by;
  if (seenBy) return seenBy;
  if (ruleDecision === 'ask' || ruleDecision === 'delay')
    return 'a hold’s answer (person or timeout; not recorded)';
  if (ruleDecision === undefined && e.ruleId) return 'policy or a hold’s answer (not recorded)';
  return 'policy';
}

function EventDetail({ e }: { e: ApiEvent }) {
  const rules = usePolicies((s) => s.rules);
  const loaded = usePolicies((s) => s.loaded);
  const load = usePolicies((s) => s.load);
  useEffect(() => {
    if (!loaded && !e.by) void load();
  }, [loaded, load, e.by]);
  const ruleDecision = e.ruleId ? rules.find((r) => r.id === e.ruleId)?.decision : 'allow';
  const run = useRuns((s) => s.selectedRun);
  const seenBy = useHolds((s) => s.decidedBy[`${run}:${e.seq}`]);
  const source = !e.by && !seenBy && !loaded && e.ruleId ? '…' : eventSource(e, ruleDecision, seenBy);
  return (
    <section className="event-detail" data-testid="event-detail" aria-label={`Event ${e.seq}`}>
      <h3>Event {e.seq}</h3>
      <dl>
        <dt>Op</dt>
        <dd>
          {e.op}
          {e.sys ? ` (${e.sys})` : ''}
          {e.errno ? `, errno ${e.errno}` : ''}
        </dd>
        <dt>Path</dt>
        <dd>
          <code>{e.path ?? '—'}</code>
          {e.path2 ? (
            <>
              {' '}
              → <code>{e.path2}</code>
            </>
          ) : null}
        </dd>
        <dt>Decision</dt>
        <dd>{e.decision}</dd>
        <dt>Decided by</dt>
        <dd data-testid="event-source">{source}</dd>
        <dt>Rule</dt>
        <dd>
          <code>{e.ruleId ?? '—'}</code>{' '}
          {e.band ? (
            <>
              in band <code>{e.band}</code>
            </>
          ) : null}
        </dd>
        <dt>Pre-image</dt>
        <dd>{e.pre ? `${e.pre.kind}${e.pre.type ? ` (${e.pre.type})` : ''}` : 'none'}</dd>
        <dt>Process</dt>
        <dd>
          pid {e.pid}
          {e.argv ? (
            <>
              {' '}
              <code>{formatArgv(e.argv)}</code>
            </>
          ) : null}
        </dd>
        <dt>Time</dt>
        <dd>{formatTime(e.ts)}</dd>
      </dl>
    </section>
  );
}

/** A path shown relative to the run's workspace when inside it (the full path is in the row's title). */
export function shortPath(path: string, workspace: string | null): string {
  if (workspace && path.startsWith(workspace + '/')) return path.slice(workspace.length + 1);
  return path;
}

function EventList() {
  const events = useRuns((s) => s.events);
  const filters = useRuns((s) => s.filters);
  const done = useRuns((s) => s.done);
  const loading = useRuns((s) => s.eventsLoading);
  const loadMore = useRuns((s) => s.loadMore);
  const selectedSeq = useRuns((s) => s.selectedSeq);
  const selectEvent = useRuns((s) => s.selectEvent);
  const shown = useMemo(() => filterEvents(events, filters), [events, filters]);
  const workspace = useRuns((s) => s.runs.find((r) => r.id === s.selectedRun)?.workspace ?? null);
  const parentRef = useRef<HTMLDivElement>(null);
  const count = shown.length + (done ? 0 : 1);
  const virtualizer = useVirtualizer({
    count,
    getScrollElement: () => parentRef.current,
    estimateSize: () => ROW_HEIGHT,
    overscan: 10,
    initialRect: { width: 800, height: 480 },
  });
  const items = virtualizer.getVirtualItems();
  const last = items[items.length - 1];

  // Load the next page when the end (the "loading" row) comes into view.
  useEffect(() => {
    if (!done && !loading && last && last.index >= shown.length - 1) void loadMore();
  }, [last, shown.length, done, loading, loadMore]);

  const selected = selectedSeq === null ? undefined : shown.find((e) => e.seq === selectedSeq);

  return (
    <>
      <p className="muted" aria-live="polite">
        {shown.length.toLocaleString()} event{shown.length === 1 ? '' : 's'}
        {filters.path || filters.decision ? ` match (of ${events.length.toLocaleString()} loaded)` : ''}
        {done ? '' : ' — more load as you scroll'}
      </p>
      <div className="event-head" aria-hidden="true">
        <span>seq</span>
        <span>op</span>
        <span>decision</span>
        <span>path</span>
        <span>rule</span>
      </div>
      <div className="event-scroll" ref={parentRef} data-testid="event-list" role="list" aria-label="Events">
        <div className="event-inner" style={{ height: virtualizer.getTotalSize() }}>
          {items.map((vi) => {
            const e = shown[vi.index];
            if (!e)
              return (
                <div
                  key="loader"
                  className="event-row loader"
                  role="listitem"
                  style={{ transform: `translateY(${vi.start}px)`, height: ROW_HEIGHT }}
                >
                  {loading ? 'Loading…' : ' '}
                </div>
              );
            return (
              <div
                key={e.seq}
                role="listitem"
                className={`event-row${e.seq === selectedSeq ? ' selected' : ''} row-${e.decision}`}
                data-testid="event-row"
                data-seq={e.seq}
                style={{ transform: `translateY(${vi.start}px)`, height: ROW_HEIGHT }}
              >
                <button
                  type="button"
                  className="event-button"
                  aria-pressed={e.seq === selectedSeq}
                  onClick={() => selectEvent(e.seq)}
                >
                  <span>{e.seq}</span>
                  <span>{e.op}</span>
                  <span>
                    <span className={`badge dec-${e.decision}`}>{e.decision}</span>
                  </span>
                  <span className="path" title={e.path ?? undefined}>
                    {e.path ? shortPath(e.path, workspace) : e.argv ? formatArgv(e.argv) : '—'}
                  </span>
                  <span>{e.ruleId ?? ''}</span>
                </button>
              </div>
            );
          })}
        </div>
      </div>
      {done && shown.length === 0 && <p className="empty">No events match these filters.</p>}
      {selected && <EventDetail e={selected} />}
    </>
  );
}

export function Timeline() {
  const runs = useRuns((s) => s.runs);
  const runsError = useRuns((s) => s.runsError);
  const selectedRun = useRuns((s) => s.selectedRun);
  const filters = useRuns((s) => s.filters);
  const setFilters = useRuns((s) => s.setFilters);
  const eventsError = useRuns((s) => s.eventsError);
  const loadRuns = useRuns((s) => s.loadRuns);

  useEffect(() => {
    void loadRuns();
  }, [loadRuns]);

  return (
    <section className="view timeline" aria-labelledby="timeline-title">
      <h2 id="timeline-title">Timeline</h2>
      {runsError && (
        <p className="error" role="alert">
          Could not load runs: {runsError}
        </p>
      )}
      {runs.length === 0 ? (
        <div className="empty" data-testid="timeline-empty">
          <p>
            <strong>No runs yet.</strong> Start an agent with <code>warden run -- &lt;agent&gt;</code>; every
            file it changes is journaled here with its pre-image, so you can restore it.
          </p>
        </div>
      ) : (
        <div className="timeline-grid">
          <ul className="run-list" aria-label="Runs">
            {runs.map((r) => (
              <RunItem key={r.id} run={r} selected={r.id === selectedRun} />
            ))}
          </ul>
          <div className="events-pane">
            {selectedRun === null ? (
              <p className="muted">Pick a run to see its events.</p>
            ) : (
              <>
                <h3>Events of run {selectedRun}</h3>
                <div className="filters" role="group" aria-label="Filters">
                  <label>
                    Op{' '}
                    <select
                      data-testid="filter-op"
                      value={filters.op}
                      onChange={(e) => setFilters({ op: e.target.value })}
                    >
                      <option value="">all</option>
                      {OPS.map((o) => (
                        <option key={o} value={o}>
                          {o}
                        </option>
                      ))}
                    </select>
                  </label>
                  <label>
                    Path contains{' '}
                    <input
                      type="search"
                      data-testid="filter-path"
                      value={filters.path}
                      onChange={(e) => setFilters({ path: e.target.value })}
                      placeholder="e.g. src/"
                    />
                  </label>
                  <label>
                    Decision{' '}
                    <select
                      data-testid="filter-decision"
                      value={filters.decision}
                      onChange={(e) => setFilters({ decision: e.target.value })}
                    >
                      <option value="">all</option>
                      {DECISIONS.map((o) => (
                        <option key={o} value={o}>
                          {o}
                        </option>
                      ))}
                    </select>
                  </label>
                </div>
                {eventsError && (
                  <p className="error" role="alert">
                    {eventsError}
                  </p>
                )}
                <EventList />
              </>
            )}
          </div>
        </div>
      )}
    </section>
  );
}
