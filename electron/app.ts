/**
 * The desktop app's main-process logic, independent of Electron (it drives a {@link Shell}): single-instance
 * lock, the daemon link, the tray, the windows, notifications for new holds and the IPC boundary.
 * `main.ts` calls {@link startApp} with the real shell; tests call it with a fake one and a real daemon.
 */
import { pathToFileURL } from 'node:url';
import type { Hold, Push } from '../core/api/contract.js';
import type { StateLayout } from '../core/util/paths.js';
import { CSP } from './csp.js';
import { DaemonLink, type DaemonLinkOptions } from './daemon-link.js';
import { CHANNEL, ipcHandlers } from './ipc.js';
import type { Shell } from './platform.js';
import { initialTrayState, reduceTray, trayMenu, trayView, type TrayInput, type TrayState } from './tray.js';
import { Windows, type AppPaths } from './windows.js';

export interface AppOptions {
  shell: Shell;
  paths: AppPaths;
  layout: StateLayout;
  autostart: boolean;
  node: DaemonLinkOptions['node'];
  pollMs?: number;
  log: (line: string) => void;
}

export interface WardenApp {
  tray(): TrayState;
  windows: Windows;
  link: DaemonLink;
  handlers: ReturnType<typeof ipcHandlers>;
  stop(): void;
}

/** Text of the notification for a new hold: what, where, which rule. */
export function holdNotification(h: Hold): { title: string; body: string } {
  const what = h.path ?? (h.argv.length > 0 ? h.argv.join(' ') : h.op);
  const irreversible = h.irreversible ? ` — cannot be undone: ${h.irreversible}` : '';
  return { title: `Warden: ${h.op} held (run ${h.run})`, body: `${what}\nrule ${h.rule}${irreversible}` };
}

/**
 * Starts the app. Resolves to null when another instance already runs (this one quits; the other one
 * shows its main window through `second-instance`).
 */
export async function startApp(o: AppOptions): Promise<WardenApp | null> {
  const { shell } = o;
  if (!shell.app.requestSingleInstanceLock()) {
    o.log('app: another Warden instance is running; quitting');
    shell.app.quit();
    return null;
  }
  shell.app.keepAliveWithoutWindows();
  await shell.app.whenReady();
  if (shell.app.platform === 'darwin') shell.app.hideDock();
  shell.setCspHeader(CSP);

  const windows = new Windows(shell, o.paths);
  let state = initialTrayState;
  const render = () => {
    const view = trayView(state);
    shell.tray.setImage(view.colour);
    shell.tray.setToolTip(view.tooltip);
    shell.tray.setTitle(view.title);
    shell.tray.setContextMenu(
      trayMenu(view, shell.getLoginItem(), {
        openMain: () => void windows.showMain(),
        openPending: () => void windows.showApproval(true),
        setStartAtLogin: (on) => {
          shell.setLoginItem(on);
          render();
        },
        quit: () => shell.app.quit(),
      }),
    );
  };
  const apply = (input: TrayInput) => {
    const before = state.pending.size;
    state = reduceTray(state, input);
    render();
    if (before > 0 && state.pending.size === 0) windows.hideApproval();
  };
  const broadcast = (channel: string, payload: unknown) => {
    for (const w of windows.all()) w.send(channel, payload);
  };

  const onNewHold = (h: Hold) => {
    if (h.decision !== 'ask') return; // delay holds run out on their own; the tray counts them
    void windows.showApproval(true);
    if (!shell.notificationsSupported()) return;
    const text = holdNotification(h);
    // Action buttons only show on macOS (Electron Notification `actions`); elsewhere a click opens the window.
    const actions = shell.app.platform === 'darwin' ? ['Allow once', 'Deny'] : [];
    shell.notify({
      ...text,
      actions,
      onClick: () => void windows.showApproval(true),
      onAction: (i) => {
        const decision = i === 0 ? 'allow' : 'deny';
        link.call('holds.decide', { id: h.id, decision, scope: 'once' }).catch((err: Error) => {
          o.log(`app: could not ${decision} hold ${h.id}: ${err.message}`);
        });
      },
    });
  };

  const link: DaemonLink = new DaemonLink({
    layout: o.layout,
    autostart: o.autostart,
    node: o.node,
    pollMs: o.pollMs ?? 3000,
    maxBackoffMs: 10000,
    log: o.log,
    onStatus: (s) => {
      apply({ type: 'connection', status: s });
      broadcast(CHANNEL.statusChanged, s);
    },
    onHealth: (h) => apply({ type: 'health', ...h }),
    onHolds: (holds) => {
      apply({ type: 'holds', holds });
      // Holds that were already waiting when we (re)connected: show them, without a notification per hold.
      if (holds.some((h) => h.decision === 'ask')) void windows.showApproval(false);
    },
    onPush: (p: Push) => {
      apply({ type: 'push', push: p });
      broadcast(CHANNEL.push, p);
      if (p.type === 'hold.new') onNewHold(p.hold);
    },
  });

  const handlers = ipcHandlers({
    isOurWindow: (id) => windows.isOurs(id),
    rendererUrl: rendererFileUrl(o.paths.rendererHtml),
    forward: (m, p) => link.call(m, p),
    status: () => link.status(),
    log: o.log,
  });
  shell.ipc.handle(CHANNEL.call, handlers.call);
  shell.ipc.handle(CHANNEL.status, handlers.status);

  shell.app.on('second-instance', () => void windows.showMain());
  shell.app.on('activate', () => void windows.showMain());
  shell.app.on('before-quit', () => link.stop());
  shell.tray.onClick(() => void (state.pending.size > 0 ? windows.showApproval(true) : windows.showMain()));

  render();
  await link.start();
  return { tray: () => state, windows, link, handlers, stop: () => link.stop() };
}

/** `file://` URL of the renderer, percent-encoded the way Chromium reports a frame's URL. */
export function rendererFileUrl(htmlPath: string): string {
  return pathToFileURL(htmlPath).href;
}
