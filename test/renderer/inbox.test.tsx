import { afterEach, describe, expect, it, vi } from 'vitest';
import { act, fireEvent, render, screen, within } from '@testing-library/react';
import { Inbox } from '../../renderer/views/Inbox';
import { App } from '../../renderer/app/App';
import { useHolds } from '../../renderer/stores/holds';
import { useConnection } from '../../renderer/stores/connection';
import { flush, installFake, makeHold } from './fake';

afterEach(() => vi.useRealTimers());

function cards() {
  return screen.getAllByTestId('hold-card');
}

describe('Inbox', () => {
  it('shows the empty state saying what to do', () => {
    installFake();
    render(<Inbox />);
    expect(screen.getByTestId('inbox-empty').textContent).toMatch(/warden run/);
    expect(screen.queryByTestId('hold-card')).toBeNull();
  });

  it('renders who/what/why, a delete preview and a live countdown with the fallback', async () => {
    vi.useFakeTimers({
      now: 1_000_000,
      toFake: ['Date', 'setInterval', 'clearInterval', 'setTimeout', 'clearTimeout'],
    });
    installFake();
    useHolds.setState({ holds: [makeHold({ deadline: 1_000_000 + 90_000 })] });
    render(<Inbox />);
    const card = cards()[0]!;
    expect(card.getAttribute('data-hold-id')).toBe('7-1');
    const countdown = within(card).getByTestId('hold-countdown');
    expect(countdown.textContent).toContain('1:30');
    expect(countdown.textContent).toMatch(/denied/);
    act(() => {
      vi.advanceTimersByTime(5_000);
    });
    expect(countdown.textContent).toContain('1:25');
    expect(card.textContent).toContain('rm -rf data'); // who
    expect(card.textContent).toContain('claude'); // process chain
    expect(card.textContent).toContain('/ws/data/a.txt'); // what
    expect(card.textContent).toContain('delay-workspace-delete'); // why: rule
    expect(card.textContent).toContain('30-delete'); // band
    expect(card.textContent).toContain('Deleting many files at once');
    const preview = within(card).getByTestId('hold-preview');
    expect(preview.textContent).toContain('10,000 files');
    expect(preview.textContent).toContain('1.1 MB');
    expect(preview.textContent).toContain('/ws/data/cache');
    expect(card.textContent).toMatch(/pre-images are kept/i);
    expect(card.textContent).toMatch(/Deny stops the rest of this delete burst/);
    act(() => {
      vi.advanceTimersByTime(90_000);
    });
    expect(countdown.textContent).toMatch(/Deadline passed/);
  });

  it('renders command and mode previews, and an allow fallback', () => {
    installFake();
    useHolds.setState({
      holds: [
        makeHold({
          hold: 2,
          ts: 2000,
          op: 'exec',
          fallback: 'allow',
          decision: 'delay',
          argv: ['git', 'reset', '--hard'],
          preview: {
            kind: 'command',
            title: 'Dirty files that would be lost',
            lines: ['M src/a.ts', 'M src/b.ts'],
            truncated: false,
          },
        }),
        makeHold({
          hold: 1,
          ts: 1000,
          op: 'chmod',
          preview: { kind: 'mode', before: '0644', after: '0777' },
        }),
      ],
    });
    render(<Inbox />);
    const [cmd, mode] = cards();
    expect(within(cmd!).getByTestId('hold-preview').textContent).toContain('M src/b.ts');
    expect(within(cmd!).getByTestId('hold-countdown').textContent).toMatch(/allowed/);
    expect(cmd!.textContent).not.toMatch(/pre-images are kept/i);
    expect(within(mode!).getByTestId('hold-preview').textContent).toMatch(/0644.*0777/);
  });

  it('lists holds newest first and the buttons call decide with the right scope', async () => {
    const t = installFake().on('holds.decide', () => ({ rule: null }));
    useHolds.setState({
      holds: [makeHold({ hold: 3, ts: 3 }), makeHold({ hold: 2, ts: 2 }), makeHold({ hold: 1, ts: 1 })],
    });
    render(<Inbox />);
    expect(cards().map((c) => c.getAttribute('data-hold-id'))).toEqual(['7-3', '7-2', '7-1']);
    fireEvent.click(within(cards()[0]!).getByTestId('hold-allow-once'));
    await act(flush);
    fireEvent.click(within(cards()[0]!).getByTestId('hold-allow-run'));
    await act(flush);
    fireEvent.click(within(cards()[0]!).getByTestId('hold-deny'));
    await act(flush);
    expect(t.callsOf('holds.decide')).toEqual([
      { id: '7-3', decision: 'allow', scope: 'once' },
      { id: '7-2', decision: 'allow', scope: 'run' },
      { id: '7-1', decision: 'deny', scope: 'once' },
    ]);
    expect(screen.getByTestId('inbox-empty')).toBeTruthy();
  });

  it('Always allow shows the rule it will write and asks to confirm', async () => {
    const t = installFake().on('holds.decide', () => ({ rule: 'x' }));
    useHolds.setState({ holds: [makeHold()] });
    render(<Inbox />);
    fireEvent.click(screen.getByTestId('hold-allow-always'));
    expect(t.calls).toHaveLength(0);
    expect(screen.getByText(/Always allow writes a rule for later runs/)).toBeTruthy();
    const rule = screen.getByTestId('hold-always-rule').textContent!;
    expect(rule).toContain('always-7-1');
    expect(rule).toContain('op: [delete]');
    expect(rule).toContain('"/ws/data/**"');
    fireEvent.click(screen.getByTestId('hold-allow-always-cancel'));
    expect(screen.queryByTestId('hold-always-rule')).toBeNull();
    fireEvent.click(screen.getByTestId('hold-allow-always'));
    fireEvent.click(screen.getByTestId('hold-allow-always-confirm'));
    await act(flush);
    expect(t.callsOf('holds.decide')).toEqual([{ id: '7-1', decision: 'allow', scope: 'always' }]);
  });

  it('keyboard: arrows move focus, Enter allows once, Esc denies the focused card', async () => {
    const t = installFake().on('holds.decide', () => ({ rule: null }));
    useHolds.setState({
      holds: [makeHold({ hold: 3, ts: 3 }), makeHold({ hold: 2, ts: 2 }), makeHold({ hold: 1, ts: 1 })],
    });
    render(<Inbox />);
    const [c3, c2, c1] = cards();
    expect(document.activeElement).toBe(c3); // newest focused first
    fireEvent.keyDown(c3!, { key: 'ArrowDown' });
    expect(document.activeElement).toBe(c2);
    fireEvent.keyDown(c2!, { key: 'ArrowDown' });
    expect(document.activeElement).toBe(c1);
    fireEvent.keyDown(c1!, { key: 'ArrowDown' });
    expect(document.activeElement).toBe(c1); // stays at the end
    fireEvent.keyDown(c1!, { key: 'ArrowUp' });
    expect(document.activeElement).toBe(c2);
    fireEvent.keyDown(c2!, { key: 'Enter' });
    await act(flush);
    expect(t.callsOf('holds.decide')).toEqual([{ id: '7-2', decision: 'allow', scope: 'once' }]);
    // focus moves on to the card now in that place
    expect(document.activeElement?.getAttribute('data-hold-id')).toBe('7-1');
    fireEvent.keyDown(document.activeElement!, { key: 'Escape' });
    await act(flush);
    expect(t.callsOf('holds.decide').at(-1)).toEqual({ id: '7-1', decision: 'deny', scope: 'once' });
    expect(cards().map((c) => c.getAttribute('data-hold-id'))).toEqual(['7-3']);
  });

  it('Deny all of run N denies that run’s holds', async () => {
    const t = installFake().on('holds.decide', () => ({ rule: null }));
    useHolds.setState({
      holds: [
        makeHold({ run: 9, hold: 1, ts: 5 }),
        makeHold({ hold: 2, ts: 2 }),
        makeHold({ hold: 1, ts: 1 }),
      ],
    });
    render(<Inbox />);
    const btns = screen.getAllByTestId('hold-deny-all-run');
    const run7 = btns.find((b) => b.getAttribute('data-run-id') === '7')!;
    expect(run7.textContent).toContain('Deny all of run 7');
    fireEvent.click(run7);
    await act(async () => {
      await flush();
      await flush();
    });
    expect(t.callsOf('holds.decide').map((p) => p.id)).toEqual(['7-2', '7-1']);
    expect(cards().map((c) => c.getAttribute('data-hold-id'))).toEqual(['9-1']);
  });
});

describe('App shell', () => {
  it('has the nav, a pending-count badge that follows pushes, and the disconnected banner', () => {
    installFake()
      .on('runs.list', () => [])
      .on('policy.show', () => [])
      .on('status', () => ({ pid: 1, state: '/s', runsInProgress: [], helper: null, lastRun: null }));
    render(<App />);
    for (const v of ['inbox', 'timeline', 'restore', 'policies', 'settings'])
      expect(screen.getByTestId(`nav-${v}`)).toBeTruthy();
    expect(screen.getByTestId('inbox-count').textContent).toBe('0');
    act(() => useHolds.getState().applyPush({ type: 'hold.new', hold: makeHold() }));
    expect(screen.getByTestId('inbox-count').textContent).toBe('1');
    expect(screen.getByRole('status').textContent).toContain('7-1');
    expect(screen.queryByTestId('connection-banner')).toBeNull();
    act(() => useConnection.getState().setStatus('disconnected'));
    expect(screen.getByTestId('connection-banner').textContent).toMatch(
      /^Warden daemon unreachable — reconnecting… Pending holds come back/,
    );
    act(() => useConnection.getState().setStatus('connected'));
    expect(screen.queryByTestId('connection-banner')).toBeNull();
    fireEvent.click(screen.getByTestId('nav-settings'));
    expect(screen.getByText('settings:', { selector: 'code' })).toBeTruthy();
    fireEvent.click(screen.getByTestId('nav-timeline'));
    expect(screen.getByTestId('nav-timeline').getAttribute('aria-current')).toBe('page');
  });
});
