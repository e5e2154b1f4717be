/**
 * The tray's state machine, pure: inputs are the daemon connection status, the daemon's health (`status`
 * answer) and pushed messages; the output is what the tray shows (colour, count, tooltip) and its menu.
 *
 * States, highest priority first:
 * - **fault** (red): daemon unreachable, helper binary missing, or the self-test canary failed
 *   (DESIGN.md safety properties 2 and 5: a failure is shown, not hidden);
 * - **pending** (amber): N holds wait for a decision; N is in the tooltip and the macOS menu-bar title;
 * - **guarding** (green): at least one run in progress, nothing pending;
 * - **idle** (grey): connected, no run; also grey while the first connection is being made.
 */
import type { Hold, Push } from '../core/api/contract.js';
import type { MenuItem, TrayColour } from './platform.js';

export type ConnectionStatus = 'connecting' | 'connected' | 'disconnected';

export interface TrayState {
  connection: ConnectionStatus;
  /** null until the first `status` answer. */
  helperPresent: boolean | null;
  selfTest: 'passed' | 'failed' | 'unknown';
  /** Pending holds by id. */
  pending: ReadonlyMap<string, Pick<Hold, 'id' | 'decision' | 'op' | 'path' | 'rule'>>;
  runs: ReadonlySet<number>;
}

export type TrayInput =
  | { type: 'connection'; status: ConnectionStatus }
  | { type: 'health'; helperPresent: boolean; selfTest: 'passed' | 'failed' | 'unknown'; runs: number[] }
  /** The full pending list (`holds.list` after (re)connecting): replaces what we knew. */
  | { type: 'holds'; holds: Hold[] }
  | { type: 'push'; push: Push };

export const initialTrayState: TrayState = {
  connection: 'connecting',
  helperPresent: null,
  selfTest: 'unknown',
  pending: new Map(),
  runs: new Set(),
};

/** Applies one input. Never mutates `s`. */
export function reduceTray(s: TrayState, input: TrayInput): TrayState {
  switch (input.type) {
    case 'connection':
      // What we knew about holds and runs is stale once the link drops; a resync follows the reconnect.
      if (input.status !== 'connected') {
        return { ...s, connection: input.status, pending: new Map(), runs: new Set() };
      }
      return { ...s, connection: 'connected' };
    case 'health':
      return {
        ...s,
        helperPresent: input.helperPresent,
        selfTest: input.selfTest,
        runs: new Set(input.runs),
      };
    case 'holds':
      return { ...s, pending: new Map(input.holds.map((h) => [h.id, brief(h)])) };
    case 'push': {
      const p = input.push;
      if (p.type === 'hold.new') {
        const pending = new Map(s.pending);
        pending.set(p.hold.id, brief(p.hold));
        const runs = new Set(s.runs).add(p.hold.run);
        return { ...s, pending, runs };
      }
      if (p.type === 'hold.resolved') {
        if (!s.pending.has(p.id)) return s;
        const pending = new Map(s.pending);
        pending.delete(p.id);
        return { ...s, pending };
      }
      if (p.type === 'run.started') return { ...s, runs: new Set(s.runs).add(p.run) };
      // run.ended: its holds were resolved (answered or 'gone') by the daemon; drop any we still list.
      const runs = new Set(s.runs);
      runs.delete(p.run);
      const prefix = `${p.run}-`;
      const pending = new Map([...s.pending].filter(([id]) => !id.startsWith(prefix)));
      return { ...s, runs, pending };
    }
  }
}

function brief(h: Hold) {
  return { id: h.id, decision: h.decision, op: h.op, path: h.path, rule: h.rule };
}

export interface TrayView {
  kind: 'fault' | 'pending' | 'guarding' | 'idle';
  colour: TrayColour;
  count: number;
  /** Why the tray is red, in words a user can act on; empty unless kind is 'fault'. */
  faults: string[];
  tooltip: string;
  /** macOS menu-bar text: the pending count, or empty. */
  title: string;
}

/** What the tray shows for state `s`. */
export function trayView(s: TrayState): TrayView {
  const faults: string[] = [];
  if (s.connection === 'disconnected') faults.push('daemon unreachable — is `warden daemon` running?');
  if (s.helperPresent === false) faults.push('helper missing — run `npm run build` in the warden checkout');
  if (s.selfTest === 'failed') faults.push('self-test failed — enforcement is not working');
  const count = s.pending.size;
  const holds = `${count} pending hold${count === 1 ? '' : 's'}`;
  if (faults.length > 0) {
    return {
      kind: 'fault',
      colour: 'red',
      count,
      faults,
      tooltip: `Warden: ${faults.join('; ')}`,
      title: '!',
    };
  }
  if (count > 0) {
    return {
      kind: 'pending',
      colour: 'amber',
      count,
      faults,
      tooltip: `Warden: ${holds}`,
      title: String(count),
    };
  }
  if (s.connection === 'connecting') {
    return {
      kind: 'idle',
      colour: 'grey',
      count,
      faults,
      tooltip: 'Warden: connecting to the daemon…',
      title: '',
    };
  }
  if (s.runs.size > 0) {
    const runs = `${s.runs.size} run${s.runs.size === 1 ? '' : 's'}`;
    return {
      kind: 'guarding',
      colour: 'green',
      count,
      faults,
      tooltip: `Warden: guarding ${runs}`,
      title: '',
    };
  }
  return {
    kind: 'idle',
    colour: 'grey',
    count,
    faults,
    tooltip: 'Warden: idle, no run in progress',
    title: '',
  };
}

export interface TrayActions {
  openMain(): void;
  openPending(): void;
  setStartAtLogin(enabled: boolean): void;
  quit(): void;
}

/**
 * The tray menu. Everything a tray click would do is here too, because Linux AppIndicator trays deliver no
 * click events (Electron docs, Tray "Platform Considerations").
 */
export function trayMenu(view: TrayView, startAtLogin: boolean, act: TrayActions): MenuItem[] {
  const items: MenuItem[] = [
    { kind: 'action', id: 'open', label: 'Open Warden', enabled: true, run: act.openMain },
    {
      kind: 'action',
      id: 'pending',
      label: `Pending holds (${view.count})…`,
      enabled: view.count > 0,
      run: act.openPending,
    },
    { kind: 'separator' },
  ];
  for (const [i, f] of view.faults.entries()) {
    items.push({ kind: 'action', id: `fault-${i}`, label: `⚠ ${f}`, enabled: false, run: () => {} });
  }
  if (view.faults.length > 0) items.push({ kind: 'separator' });
  items.push(
    {
      kind: 'checkbox',
      id: 'login',
      label: 'Start at login',
      checked: startAtLogin,
      run: act.setStartAtLogin,
    },
    { kind: 'separator' },
    { kind: 'action', id: 'quit', label: 'Quit', enabled: true, run: act.quit },
  );
  return items;
}
