/**
 * `warden status`'s watch-mode line, apart from views.ts so that `warden status` does not load zod for it.
 */

export interface WatchStatus {
  connected?: boolean;
  ok?: boolean;
  fault?: { ts: number; what: string } | null;
  mechanisms?: Record<string, string> | null;
}

/**
 * One line for `warden status`: is watch mode's root helper connected, which mechanisms are active, and the
 * sentence of each one that is not (it says why), or the fault.
 */
export function watchLine(w: WatchStatus | undefined): string {
  if (!w) return 'unknown (daemon not running)';
  if (w.fault) return `FAULT since ${new Date(w.fault.ts).toISOString()}: ${w.fault.what}`;
  if (!w.connected) return 'off (no root helper; `sudo warden watch install`)';
  const entries = Object.entries(w.mechanisms ?? {});
  const isOn = ([k, v]: [string, string]) => v.startsWith('active') || (k === 'freezer' && v !== 'none');
  const on = entries.filter(isOn).map(([k, v]) => (k === 'freezer' ? `freezer (${v})` : k));
  const off = entries.filter((e) => !isOn(e)).map(([k, v]) => `${k}: ${v}`);
  return `on; active: ${on.join(', ') || 'none'}${off.length ? `; not active: ${off.join('; ')}` : ''}`;
}
