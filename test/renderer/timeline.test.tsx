import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { act, fireEvent, render, screen, within } from '@testing-library/react';
import { Timeline, ROW_HEIGHT, eventSource } from '../../renderer/views/Timeline';
import { useRuns, PAGE_SIZE } from '../../renderer/stores/runs';
import { useNav } from '../../renderer/stores/nav';
import { useRestore } from '../../renderer/stores/restore';
import { flush, installFake, type FakeTransport } from './fake';
import type { ApiEvent, RunRow } from '../../renderer/stores/types';

const TOTAL = 100_000;
const VIEWPORT = 480;

// happy-dom does no layout: give the scroll container a height so the virtualizer has a window.
const desc = Object.getOwnPropertyDescriptor(HTMLElement.prototype, 'clientHeight');
beforeAll(() => {
  Object.defineProperty(HTMLElement.prototype, 'clientHeight', { configurable: true, get: () => VIEWPORT });
});
afterAll(() => {
  if (desc) Object.defineProperty(HTMLElement.prototype, 'clientHeight', desc);
});

const OPS = ['write', 'create', 'delete', 'rename'];
function eventAt(seq: number): ApiEvent {
  return {
    seq,
    ts: 1_700_000_000_000 + seq,
    pid: 100 + (seq % 3),
    op: OPS[seq % 4]!,
    sys: null,
    path: `/ws/${seq % 10 === 0 ? 'src' : 'build'}/f${seq}`,
    path2: null,
    decision: seq % 50 === 0 ? 'deny' : 'allow',
    ruleId: seq % 50 === 0 ? 'deny-secrets' : 'default-allow',
    band: seq % 50 === 0 ? '10-protected' : '90-default',
    errno: 0,
    pre: seq % 4 === 2 ? { kind: 'link', type: 'file' } : null,
    preSha: null,
    argv: null,
    ...(seq === 7 ? { by: 'person' } : {}),
  };
}

const run: RunRow = {
  id: 5,
  startedAt: 1_700_000_000_000,
  endedAt: 1_700_000_100_000,
  argv: ['claude', '--dangerously-skip-permissions'],
  cwd: '/ws',
  workspace: '/ws',
  status: 'ended',
  exitCode: 0,
  signal: null,
  summary: { events: TOTAL, denied: 2000 },
};

function fakeDaemon(): FakeTransport {
  return installFake()
    .on('runs.list', () => [run, { ...run, id: 4, summary: null }])
    .on('run.log', (p) => {
      const after = p.afterSeq as number;
      const limit = p.limit as number;
      const events: ApiEvent[] = [];
      for (let s = after + 1; s <= TOTAL && events.length < limit; s++) {
        const e = eventAt(s);
        if (!p.op || e.op === p.op) events.push(e);
      }
      return { run, events, chains: {} };
    })
    .on('rollback.plan', () => ({ run: 5, createdAt: 0, steps: [], irreversible: [], conflicts: [] }))
    .on('policy.show', () => [
      { id: 'deny-secrets', band: '10-protected', decision: 'deny', ops: ['*'], patterns: [] },
      { id: 'default-allow', band: '90-default', decision: 'allow', ops: ['*'], patterns: [] },
    ]);
}

async function settle() {
  await act(async () => {
    await flush();
    await flush();
  });
}

describe('Timeline', () => {
  it('shows the empty state without runs', async () => {
    installFake().on('runs.list', () => []);
    render(<Timeline />);
    await settle();
    expect(screen.getByTestId('timeline-empty').textContent).toMatch(/warden run/);
  });

  it('lists runs; 100,000 events render only a window of rows and load pages on scroll', async () => {
    const t = fakeDaemon();
    render(<Timeline />);
    await settle();
    const rows = screen.getAllByTestId('run-row');
    expect(rows.map((r) => r.getAttribute('data-run-id'))).toEqual(['5', '4']);
    expect(rows[0]!.textContent).toContain('claude --dangerously-skip-permissions');
    expect(rows[0]!.textContent).toContain('/ws');
    expect(rows[0]!.textContent).toContain('100,000 events');

    fireEvent.click(within(rows[0]!).getByRole('button', { name: /Run 5/ }));
    await settle();
    expect(t.callsOf('run.log')).toEqual([{ run: 5, afterSeq: 0, limit: PAGE_SIZE }]);
    let shown = screen.getAllByTestId('event-row');
    expect(shown.length).toBeGreaterThan(5);
    expect(shown.length).toBeLessThan(60); // a window, not 1,000 (or 100,000) rows
    expect(shown[0]!.getAttribute('data-seq')).toBe('1');

    // Scroll to the end of what is loaded: the next page is requested.
    const scroller = screen.getByTestId('event-list');
    await act(async () => {
      scroller.scrollTop = PAGE_SIZE * ROW_HEIGHT - VIEWPORT;
      fireEvent.scroll(scroller);
      await flush();
      await flush();
    });
    expect(t.callsOf('run.log').at(-1)).toEqual({ run: 5, afterSeq: PAGE_SIZE, limit: PAGE_SIZE });
    expect(useRuns.getState().events).toHaveLength(PAGE_SIZE * 2);
    shown = screen.getAllByTestId('event-row');
    expect(shown.length).toBeLessThan(60);
    const seqs = shown.map((r) => Number(r.getAttribute('data-seq')));
    expect(Math.max(...seqs)).toBeGreaterThan(PAGE_SIZE - 5);

    // Jump far down through all 100,000 (pages load as the end comes into view).
    for (let i = 0; i < TOTAL / PAGE_SIZE + 2 && !useRuns.getState().done; i++) {
      await act(async () => {
        scroller.scrollTop = useRuns.getState().events.length * ROW_HEIGHT;
        fireEvent.scroll(scroller);
        await flush();
        await flush();
      });
    }
    expect(useRuns.getState().events).toHaveLength(TOTAL);
    expect(useRuns.getState().done).toBe(true);
    shown = screen.getAllByTestId('event-row');
    expect(shown.length).toBeLessThan(60);
    expect(shown.map((r) => r.getAttribute('data-seq'))).toContain(String(TOTAL));
  }, 30_000);

  it('filters by op (daemon), path and decision (loaded events); a row click shows its detail', async () => {
    const t = fakeDaemon();
    render(<Timeline />);
    await settle();
    fireEvent.click(within(screen.getAllByTestId('run-row')[0]!).getByRole('button', { name: /Run 5/ }));
    await settle();

    fireEvent.change(screen.getByTestId('filter-op'), { target: { value: 'delete' } });
    await settle();
    expect(t.callsOf('run.log').at(-1)).toEqual({ run: 5, afterSeq: 0, limit: PAGE_SIZE, op: 'delete' });
    for (const r of screen.getAllByTestId('event-row'))
      expect(Number(r.getAttribute('data-seq')) % 4).toBe(2);

    fireEvent.change(screen.getByTestId('filter-op'), { target: { value: '' } });
    await settle();
    fireEvent.change(screen.getByTestId('filter-path'), { target: { value: '/src/' } });
    await settle();
    for (const r of screen.getAllByTestId('event-row'))
      expect(Number(r.getAttribute('data-seq')) % 10).toBe(0);

    fireEvent.change(screen.getByTestId('filter-decision'), { target: { value: 'deny' } });
    await settle();
    const denied = screen.getAllByTestId('event-row');
    for (const r of denied) expect(Number(r.getAttribute('data-seq')) % 50).toBe(0);

    fireEvent.click(within(denied[0]!).getByRole('button'));
    await settle();
    const detail = screen.getByTestId('event-detail');
    expect(detail.textContent).toContain('deny-secrets');
    expect(detail.textContent).toContain('10-protected');
    expect(within(detail).getByTestId('event-source').textContent).toBe('policy');

    fireEvent.change(screen.getByTestId('filter-path'), { target: { value: '' } });
    fireEvent.change(screen.getByTestId('filter-decision'), { target: { value: '' } });
    await settle();
    const row7 = screen.getAllByTestId('event-row').find((r) => r.getAttribute('data-seq') === '7')!;
    fireEvent.click(within(row7).getByRole('button'));
    await settle();
    expect(within(screen.getByTestId('event-detail')).getByTestId('event-source').textContent).toBe('person');
    const row6 = screen.getAllByTestId('event-row').find((r) => r.getAttribute('data-seq') === '6')!;
    fireEvent.click(within(row6).getByRole('button'));
    await settle();
    expect(screen.getByTestId('event-detail').textContent).toMatch(/link \(file\)/);
  });

  it('restore-run opens Restore for that run', async () => {
    const t = fakeDaemon();
    render(<Timeline />);
    await settle();
    fireEvent.click(within(screen.getAllByTestId('run-row')[1]!).getByTestId('restore-run'));
    await settle();
    expect(useNav.getState().view).toBe('restore');
    expect(useRestore.getState().run).toBe(4);
    expect(t.callsOf('rollback.plan')).toEqual([{ run: 4, paths: [], all: false }]);
  });
});

describe('eventSource', () => {
  it('uses by when present, else what kind of rule decided', () => {
    const e = eventAt(3);
    expect(eventSource({ ...e, by: 'timeout' }, 'ask')).toBe('timeout');
    expect(eventSource(e, 'deny')).toBe('policy');
    expect(eventSource(e, 'ask')).toMatch(/hold’s answer/);
    expect(eventSource(e, undefined)).toMatch(/not recorded/);
    expect(eventSource(e, 'ask', 'timeout')).toBe('timeout');
  });
});
