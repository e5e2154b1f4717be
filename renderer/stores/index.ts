// Wires a Transport to the stores: pushes update holds and runs, the status drives the banner, and every
// (re)connect refetches what pushes may have missed.
import type { Transport } from '../transport/types';
import { setTransport } from './api';
import { useConnection } from './connection';
import { useHolds } from './holds';
import { useRuns } from './runs';
import { useSettings } from './settings';

export function startStores(t: Transport): () => void {
  setTransport(t);
  const offPush = t.subscribe((p) => {
    useHolds.getState().applyPush(p);
    if (p.type === 'hold.new') notify(p.hold.id, `${p.hold.op} ${p.hold.path ?? p.hold.argv.join(' ')}`);
    if (p.type === 'run.started' || p.type === 'run.ended') void useRuns.getState().loadRuns();
  });
  const offStatus = t.onStatus((s) => {
    const prev = useConnection.getState().status;
    useConnection.getState().setStatus(s);
    if (s === 'connected' && prev !== 'connected') {
      void useHolds.getState().load();
      void useRuns.getState().loadRuns();
      void useConnection.getState().refreshDaemon();
    }
  });
  // Load once right away too (the push channel may take a moment, or be down while HTTP works).
  void useHolds.getState().load();
  void useRuns.getState().loadRuns();
  return () => {
    offPush();
    offStatus();
  };
}

function notify(id: string, body: string): void {
  if (!useSettings.getState().notifications) return;
  if (typeof document !== 'undefined' && document.visibilityState === 'visible' && document.hasFocus())
    return;
  const N = (globalThis as { Notification?: typeof Notification }).Notification;
  if (!N || N.permission !== 'granted') return;
  try {
    new N(`Warden: hold ${id} waits for you`, { body, tag: id });
  } catch {
    /* notifications unavailable */
  }
}
