import { describe, expect, it } from 'vitest';
import { act, render, screen, within } from '@testing-library/react';
import { Settings } from '../../renderer/views/Settings';
import { mechanismActive } from '../../renderer/views/WatchMode';
import type { DaemonStatus, WatchStatus } from '../../renderer/stores/types';
import { flush, installFake } from './fake';

async function settle() {
  await act(async () => {
    await flush();
    await flush();
  });
}

function daemonStatus(watch?: Partial<WatchStatus>): DaemonStatus {
  return {
    pid: 900,
    state: '/home/u/.local/state/warden',
    runsInProgress: [],
    helper: '/opt/warden/warden-supervise',
    lastRun: null,
    extensions: watch
      ? {
          net: {},
          watch: {
            socket: '/run/warden/watch.sock',
            connected: false,
            helperPid: null,
            roots: [],
            mechanisms: null,
            lastHeartbeat: null,
            counters: {},
            canary: { path: null, lastOk: null },
            ok: true,
            fault: null,
            recentFaults: [],
            runsInProgress: [],
            ...watch,
          },
        }
      : { net: {} },
  };
}

const LSM =
  'unavailable: the kernel refused the program (load: Operation not permitted); unlink/rename are seen after the fact and restorable from the shadow';

function connected(over: Partial<WatchStatus> = {}): Partial<WatchStatus> {
  const now = Date.now();
  return {
    connected: true,
    helperPid: 4711,
    roots: ['/home/u'],
    mechanisms: {
      fanotify_perm: 'active',
      bpf_lsm: LSM,
      connect4: 'active: agent-tree TCP connections beyond loopback are steered into the egress proxy',
      freezer: 'cgroup2',
      shadow: 'inactive',
    },
    lastHeartbeat: now - 500,
    counters: { trees: 2, permEvents: 12345, permAgent: 40, nameEvents: 77, shadowFiles: 9000 },
    canary: { path: '/home/u/.local/state/warden/watch/canary', lastOk: now - 12_000 },
    runsInProgress: [31, 32],
    ...over,
  };
}

/** The active / not-active marker of one mechanism row. */
const state = (row: HTMLElement) => within(row).getByTestId('mechanism-state').textContent;

async function showSettings(status: DaemonStatus) {
  const t = installFake().on('status', () => status);
  render(<Settings />);
  await settle();
  expect(t.callsOf('status').length).toBeGreaterThan(0);
  return screen.getByTestId('watch-status');
}

describe('Settings: watch mode', () => {
  it('says watch mode is not running and how to start it when the daemon has no watch status', async () => {
    const section = await showSettings(daemonStatus());
    expect(within(section).getByRole('heading', { name: 'Watch mode' })).toBeTruthy();
    expect(within(section).getByTestId('watch-off').textContent).toMatch(/Watch mode is not running/);
    expect(within(section).getByText('sudo warden watch install')).toBeTruthy();
    expect(within(section).getByText('sudo warden watch --foreground')).toBeTruthy();
    expect(within(section).queryByRole('alert')).toBeNull();
    expect(within(section).queryByTestId('watch-mechanisms')).toBeNull();
  });

  it('says the same when the helper never connected, naming the socket', async () => {
    const section = await showSettings(daemonStatus({ connected: false }));
    expect(within(section).getByTestId('watch-off').textContent).toMatch(
      /Watch mode is not running.*\/run\/warden\/watch\.sock/,
    );
    expect(within(section).getByText('sudo warden watch install')).toBeTruthy();
    expect(within(section).queryByRole('alert')).toBeNull();
  });

  it('shows a connected helper: pid, roots, active and not-active mechanisms with their sentences', async () => {
    const section = await showSettings(daemonStatus(connected()));
    expect(within(section).queryByTestId('watch-off')).toBeNull();
    expect(within(section).queryByRole('alert')).toBeNull();
    expect(within(section).getByText(/pid 4711/)).toBeTruthy();
    expect(within(section).getByText('/home/u')).toBeTruthy();

    const mechs = within(section).getAllByTestId('watch-mechanism');
    const byName = (n: string) => mechs.find((m) => m.dataset.mechanism === n) as HTMLElement;
    expect(mechs).toHaveLength(5);
    const fan = byName('fanotify_perm');
    expect(state(fan)).toBe('active');
    expect(fan.textContent).toMatch(/fanotify permission events/);
    const lsm = byName('bpf_lsm');
    expect(state(lsm)).toBe('not active');
    expect(lsm.textContent).toMatch(/BPF LSM/);
    expect(within(lsm).getByText(LSM)).toBeTruthy(); // the whole sentence: it says why not
    expect(state(byName('connect4'))).toBe('active');
    expect(byName('connect4').textContent).toMatch(/Egress steering/);
    expect(state(byName('freezer'))).toBe('active');
    expect(byName('freezer').textContent).toMatch(/cgroup v2 freezer/);
    expect(state(byName('shadow'))).toBe('not active');

    expect(within(section).getByTestId('watch-canary').textContent).toMatch(/last OK 1\d s ago/);
    expect(within(section).getByText('31, 32')).toBeTruthy();
    const counters = within(section).getByTestId('watch-counters');
    expect(within(counters).getByText('Files in the shadow')).toBeTruthy();
    expect(within(counters).getByText((9000).toLocaleString())).toBeTruthy();
  });

  it('shows a fault as an alert with its text and time, and the recent faults', async () => {
    const ts = Date.now() - 65_000;
    const what = 'canary write at /s/watch/canary was not seen by the helper: fanotify is not enforcing';
    const earlier = {
      ts: ts - 600_000,
      what: 'watch helper (pid 4000) disconnected: agents are not guarded',
    };
    const section = await showSettings(
      daemonStatus(connected({ ok: false, fault: { ts, what }, recentFaults: [earlier, { ts, what }] })),
    );
    const alert = within(section).getByRole('alert');
    expect(alert.textContent).toContain(what);
    expect(alert.textContent).toMatch(/1 min ago/);
    expect(alert.textContent).toContain(new Date(ts).toLocaleString());
    expect(alert.textContent).toMatch(/fails open/);
    const recent = within(section)
      .getAllByRole('listitem')
      .filter((li) => li.closest('[data-testid="watch-recent-faults"]'));
    expect(recent.map((li) => li.textContent)).toEqual([
      expect.stringContaining(what),
      expect.stringContaining(earlier.what),
    ]);
  });

  it('shows a helper that went away as a fault, with how to start it again', async () => {
    const ts = Date.now() - 3000;
    const what = 'watch helper (pid 4711) disconnected: agents are not guarded';
    const section = await showSettings(
      daemonStatus({ connected: false, ok: false, fault: { ts, what }, recentFaults: [{ ts, what }] }),
    );
    expect(within(section).getByRole('alert').textContent).toContain(what);
    expect(within(section).getByTestId('watch-off').textContent).toMatch(/not connected/);
    expect(within(section).getByText('sudo warden watch --foreground')).toBeTruthy();
  });
});

describe('mechanismActive', () => {
  it("reads the helper's sentences (WIRE.md §5.2)", () => {
    expect(mechanismActive('fanotify_perm', 'active (armed while an agent tree runs)')).toBe(true);
    expect(mechanismActive('connect4', 'active: agent-tree TCP connections are steered')).toBe(true);
    expect(mechanismActive('connect4', 'off in the config')).toBe(false);
    expect(mechanismActive('ebpf_tracepoints', 'unavailable: /proc polling')).toBe(false);
    expect(mechanismActive('shadow', 'inactive')).toBe(false);
    expect(mechanismActive('freezer', 'cgroup2')).toBe(true);
    expect(mechanismActive('freezer', 'sigstop')).toBe(true);
    expect(mechanismActive('freezer', 'none')).toBe(false);
  });
});
