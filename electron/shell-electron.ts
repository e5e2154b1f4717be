/**
 * The real {@link Shell}: the only main-process file that imports `electron`. Kept thin on purpose — every
 * decision (what the tray shows, which IPC message passes, what a window may do) is made in the pure
 * modules and tested without Electron; this file only translates.
 */
import {
  app,
  BrowserWindow,
  ipcMain,
  Menu,
  nativeImage,
  Notification,
  session,
  Tray,
  type MenuItemConstructorOptions,
  type NativeImage,
} from 'electron';
import { withCsp } from './csp.js';
import type {
  IpcSender,
  MenuItem,
  NavigationPolicy,
  Shell,
  TrayColour,
  WindowHandle,
  WindowSpec,
} from './platform.js';

const RGB: Record<TrayColour, [number, number, number]> = {
  green: [0x2e, 0xa0, 0x43],
  amber: [0xd2, 0x99, 0x22],
  red: [0xda, 0x36, 0x33],
  grey: [0x8b, 0x94, 0x9e],
};

/** A filled 16×16 disc drawn in memory (BGRA), so no icon file has to be found at run time. */
function disc(colour: TrayColour): NativeImage {
  const size = 16;
  const buf = Buffer.alloc(size * size * 4);
  const [r, g, b] = RGB[colour];
  for (let y = 0; y < size; y++) {
    for (let x = 0; x < size; x++) {
      const d = Math.hypot(x - 7.5, y - 7.5);
      if (d > 7) continue;
      const i = (y * size + x) * 4;
      buf[i] = b;
      buf[i + 1] = g;
      buf[i + 2] = r;
      buf[i + 3] = d > 6.2 ? 128 : 255;
    }
  }
  return nativeImage.createFromBitmap(buf, { width: size, height: size });
}

function toTemplate(items: MenuItem[]): MenuItemConstructorOptions[] {
  return items.map((it): MenuItemConstructorOptions => {
    if (it.kind === 'separator') return { type: 'separator' };
    if (it.kind === 'checkbox') {
      return {
        id: it.id,
        type: 'checkbox',
        label: it.label,
        checked: it.checked,
        click: (mi) => it.run(mi.checked),
      };
    }
    return { id: it.id, label: it.label, enabled: it.enabled, click: () => it.run() };
  });
}

function wrapWindow(win: BrowserWindow, policy: NavigationPolicy): WindowHandle {
  const wc = win.webContents;
  wc.on('will-navigate', (e) => {
    if (!policy.allowNavigation(e.url)) e.preventDefault();
  });
  wc.on('will-frame-navigate', (e) => {
    if (!policy.allowNavigation(e.url)) e.preventDefault();
  });
  wc.on('will-redirect', (e) => {
    if (!policy.allowNavigation(e.url)) e.preventDefault();
  });
  wc.on('will-attach-webview', (e) => {
    if (!policy.allowWebview()) e.preventDefault();
  });
  wc.setWindowOpenHandler(({ url }) =>
    policy.allowWindowOpen(url) ? { action: 'allow' } : { action: 'deny' },
  );
  const id = wc.id;
  return {
    webContentsId: id,
    loadFile: (path, hash) => win.loadFile(path, hash === undefined ? {} : { hash }),
    show: () => win.show(),
    focus: () => {
      // A menu-bar app (LSUIElement) is not activated by focusing one of its windows: the approval window
      // would stay behind the agent's terminal without this.
      if (process.platform === 'darwin') app.focus({ steal: true });
      win.focus();
    },
    hide: () => win.hide(),
    isDestroyed: () => win.isDestroyed(),
    isVisible: () => !win.isDestroyed() && win.isVisible(),
    send: (channel, payload) => {
      if (!win.isDestroyed()) wc.send(channel, payload);
    },
    onClosed: (cb) => win.on('closed', cb),
  };
}

function senderOf(e: Electron.IpcMainInvokeEvent): IpcSender {
  const f = e.senderFrame;
  return {
    webContentsId: e.sender.id,
    frame: f ? { url: f.url, isMainFrame: f.parent === null } : null,
  };
}

/** Builds the Electron-backed shell. Call before `app.whenReady()` resolves only the `app` members. */
export function electronShell(): Shell {
  let tray: Tray | null = null;
  const trayNow = (): Tray => (tray ??= new Tray(disc('grey')));
  let trayClick: (() => void) | null = null;
  const policies = new Map<number, NavigationPolicy>();
  const live = new Set<Notification>();

  return {
    app: {
      requestSingleInstanceLock: () => app.requestSingleInstanceLock(),
      on: (event, cb) => {
        app.on(event as 'activate', cb);
      },
      keepAliveWithoutWindows: () => {
        app.on('window-all-closed', () => {
          /* a tray app stays running with no window */
        });
      },
      whenReady: () => app.whenReady().then(() => undefined),
      quit: () => app.quit(),
      get isPackaged() {
        return app.isPackaged;
      },
      platform: process.platform,
      hideDock: () => app.dock?.hide(),
    },
    tray: {
      setImage: (c) => trayNow().setImage(disc(c)),
      setToolTip: (t) => trayNow().setToolTip(t),
      setTitle: (t) => trayNow().setTitle(t),
      setContextMenu: (items) => trayNow().setContextMenu(Menu.buildFromTemplate(toTemplate(items))),
      onClick: (cb) => {
        if (!trayClick) trayNow().on('click', () => trayClick?.());
        trayClick = cb;
      },
    },
    createWindow: (spec: WindowSpec, policy: NavigationPolicy) => {
      const { role: _role, ...options } = spec;
      const win = new BrowserWindow(options);
      win.setMenu(null);
      policies.set(win.webContents.id, policy);
      win.on('closed', () => policies.delete(win.webContents.id));
      return wrapWindow(win, policy);
    },
    notificationsSupported: () => Notification.isSupported(),
    notify: (n) => {
      const note = new Notification({
        title: n.title,
        body: n.body,
        actions: n.actions.map((text) => ({ type: 'button' as const, text })),
      });
      // Keep a reference until the notification is done with: a collected Notification never fires 'click'
      // or 'action' (electron/electron issues about notification handlers not firing after GC).
      live.add(note);
      const done = () => live.delete(note);
      note.on('click', () => {
        done();
        n.onClick();
      });
      note.on('action', (_e, index) => {
        done();
        n.onAction(index);
      });
      note.on('close', done);
      note.on('failed', done);
      note.show();
    },
    setLoginItem: (enabled) => app.setLoginItemSettings({ openAtLogin: enabled, openAsHidden: true }),
    getLoginItem: () => app.getLoginItemSettings().openAtLogin,
    ipc: {
      handle: (channel, handler) =>
        ipcMain.handle(channel, (e, payload: unknown) => handler(senderOf(e), payload)),
    },
    setCspHeader: (csp) => {
      const ses = session.defaultSession;
      ses.webRequest.onHeadersReceived((details, cb) => {
        cb({ responseHeaders: withCsp(details.responseHeaders, csp) });
      });
      // No page of ours needs a permission; one a compromised page asks for is refused.
      ses.setPermissionRequestHandler((wc, permission, cb) => {
        const p = policies.get(wc.id);
        cb(p ? p.allowPermission(permission) : false);
      });
      ses.setPermissionCheckHandler((wc, permission) => {
        const p = wc ? policies.get(wc.id) : undefined;
        return p ? p.allowPermission(permission) : false;
      });
    },
  };
}
