/**
 * The tray state machine: colour, count and menu follow the connection status, the daemon's health and
 * pushed holds/runs.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import {
  initialTrayState,
  reduceTray,
  trayMenu,
  trayView,
  type TrayInput,
  type TrayState,
} from '../../electron/tray.js';
import { hold } from './hold.js';
import { healthFromStatus } from '../../electron/daemon-link.js';

const run = (...inputs: TrayInput[]): TrayState => inputs.reduce(reduceTray, initialTrayState);
const connected: TrayInput = { type: 'connection', status: 'connected' };
const healthy: TrayInput = { type: 'health', helperPresent: true, selfTest: 'passed', runs: [] };

test('starts grey while connecting, idle once connected and healthy', () => {
  assert.deepEqual(
    [trayView(initialTrayState).colour, trayView(initialTrayState).tooltip],
    ['grey', 'Warden: connecting to the daemon…'],
  );
  const v = trayView(run(connected, healthy));
  assert.equal(v.kind, 'idle');
  assert.equal(v.colour, 'grey');
  assert.equal(v.count, 0);
});

test('a run in progress is guarding (green); its end returns to idle', () => {
  const s = run(connected, healthy, { type: 'push', push: { type: 'run.started', run: 7 } });
  assert.equal(trayView(s).kind, 'guarding');
  assert.equal(trayView(s).colour, 'green');
  assert.match(trayView(s).tooltip, /guarding 1 run$/);
  const after = reduceTray(s, { type: 'push', push: { type: 'run.ended', run: 7 } });
  assert.equal(trayView(after).kind, 'idle');
});

test('new holds turn it amber with the count in tooltip and title; resolving them counts down', () => {
  let s = run(connected, healthy, { type: 'push', push: { type: 'hold.new', hold: hold(3, 1) } });
  s = reduceTray(s, { type: 'push', push: { type: 'hold.new', hold: hold(3, 2) } });
  let v = trayView(s);
  assert.deepEqual(
    [v.kind, v.colour, v.count, v.title, v.tooltip],
    ['pending', 'amber', 2, '2', 'Warden: 2 pending holds'],
  );
  s = reduceTray(s, {
    type: 'push',
    push: { type: 'hold.resolved', id: '3-1', decision: 'deny', by: 'person' },
  });
  v = trayView(s);
  assert.deepEqual([v.count, v.tooltip], [1, 'Warden: 1 pending hold']);
  s = reduceTray(s, {
    type: 'push',
    push: { type: 'hold.resolved', id: '3-2', decision: 'allow', by: 'timeout' },
  });
  v = trayView(s);
  assert.deepEqual([v.kind, v.colour, v.count, v.title], ['guarding', 'green', 0, '']);
});

test('a resolved push for an unknown hold changes nothing; a duplicate hold.new is counted once', () => {
  const s = run(connected, healthy, { type: 'push', push: { type: 'hold.new', hold: hold(3, 1) } });
  assert.equal(
    reduceTray(s, { type: 'push', push: { type: 'hold.resolved', id: '9-9', decision: 'deny', by: 'gone' } }),
    s,
  );
  assert.equal(
    trayView(reduceTray(s, { type: 'push', push: { type: 'hold.new', hold: hold(3, 1) } })).count,
    1,
  );
});

test('run.ended drops that run’s holds only', () => {
  const s = run(
    connected,
    healthy,
    { type: 'push', push: { type: 'hold.new', hold: hold(3, 1) } },
    { type: 'push', push: { type: 'hold.new', hold: hold(31, 1) } },
    { type: 'push', push: { type: 'run.ended', run: 3 } },
  );
  assert.deepEqual([...s.pending.keys()], ['31-1']);
});

test('holds.list after a reconnect replaces the pending set', () => {
  const s = run(
    connected,
    { type: 'push', push: { type: 'hold.new', hold: hold(3, 1) } },
    {
      type: 'holds',
      holds: [hold(4, 1), hold(4, 2), hold(4, 3)],
    },
  );
  assert.deepEqual([...s.pending.keys()], ['4-1', '4-2', '4-3']);
});

test('faults are red and win over pending: daemon unreachable, helper missing, self-test failed', () => {
  const pending = run(connected, healthy, { type: 'push', push: { type: 'hold.new', hold: hold(3, 1) } });
  const down = reduceTray(pending, { type: 'connection', status: 'disconnected' });
  assert.equal(trayView(down).colour, 'red');
  assert.match(trayView(down).faults[0]!, /daemon unreachable/);
  assert.equal(down.pending.size, 0, 'what we knew is stale once the link drops');

  const noHelper = reduceTray(pending, {
    type: 'health',
    helperPresent: false,
    selfTest: 'unknown',
    runs: [],
  });
  assert.equal(trayView(noHelper).kind, 'fault');
  assert.match(trayView(noHelper).tooltip, /helper missing/);

  const canary = reduceTray(pending, { type: 'health', helperPresent: true, selfTest: 'failed', runs: [3] });
  assert.equal(trayView(canary).colour, 'red');
  assert.match(trayView(canary).tooltip, /self-test failed/);

  const back = reduceTray(reduceTray(down, connected), healthy);
  assert.equal(trayView(back).colour, 'grey');
});

test('the menu offers everything a tray click would, with the pending count and the login checkbox', () => {
  const calls: string[] = [];
  const act = {
    openMain: () => calls.push('main'),
    openPending: () => calls.push('pending'),
    setStartAtLogin: (on: boolean) => calls.push(`login:${on}`),
    quit: () => calls.push('quit'),
  };
  const s = run(connected, healthy, { type: 'push', push: { type: 'hold.new', hold: hold(3, 1) } });
  const menu = trayMenu(trayView(s), true, act);
  const labels = menu.map((m) => (m.kind === 'separator' ? '-' : m.label));
  assert.deepEqual(labels, ['Open Warden', 'Pending holds (1)…', '-', 'Start at login', '-', 'Quit']);
  for (const m of menu) {
    if (m.kind === 'action') m.run();
    if (m.kind === 'checkbox') {
      assert.equal(m.checked, true);
      m.run(false);
    }
  }
  assert.deepEqual(calls, ['main', 'pending', 'login:false', 'quit']);

  const idle = trayMenu(trayView(run(connected, healthy)), false, act);
  const pending = idle.find((m) => m.kind === 'action' && m.id === 'pending');
  assert.equal(pending?.kind === 'action' && pending.enabled, false);

  const red = trayMenu(trayView(run({ type: 'connection', status: 'disconnected' })), false, act);
  const fault = red.find((m) => m.kind === 'action' && m.id === 'fault-0');
  assert.ok(fault && fault.kind === 'action' && !fault.enabled && /daemon unreachable/.test(fault.label));
});

test('a watch-mode fault in the daemon status (helper dead, no heartbeat, missed canary) turns the tray red', () => {
  const base = { helper: '/x/warden-supervise', runsInProgress: [4], selfTest: { ok: true } };
  const ok = healthFromStatus({ ...base, extensions: { watch: { ok: true, fault: null } } });
  assert.equal(ok.selfTest, 'passed');
  const fault = healthFromStatus({ ...base, extensions: { watch: { ok: false, fault: 'helper gone' } } });
  assert.equal(fault.selfTest, 'failed');
  assert.deepEqual(fault.runs, [4]);
  assert.equal(trayView(run(connected, { type: 'health', ...ok })).colour, 'green');
  assert.equal(trayView(run(connected, { type: 'health', ...fault })).colour, 'red');
});
