/**
 * A fake {@link Shell} for the desktop app's tests: records what the app asked Electron to do (tray image,
 * menu, windows with their options and navigation policy, notifications, IPC handlers) and lets a test act
 * as the renderer by invoking the registered IPC handlers with a chosen sender.
 */
import type {
  IpcSender,
  MenuItem,
  NavigationPolicy,
  NotificationSpec,
  Shell,
  TrayColour,
  WindowHandle,
  WindowSpec,
} from '../../electron/platform.js';

export class FakeWindow implements WindowHandle {
  loaded: { path: string; hash?: string } | null = null;
  visible = false;
  focused = 0;
  destroyed = false;
  sent: { channel: string; payload: unknown }[] = [];
  private closedCbs: (() => void)[] = [];
  constructor(
    readonly webContentsId: number,
    readonly spec: WindowSpec,
    readonly policy: NavigationPolicy,
  ) {}
  async loadFile(path: string, hash?: string) {
    this.loaded = hash === undefined ? { path } : { path, hash };
  }
  show() {
    this.visible = true;
  }
  focus() {
    this.focused++;
  }
  hide() {
    this.visible = false;
  }
  isDestroyed() {
    return this.destroyed;
  }
  isVisible() {
    return this.visible;
  }
  send(channel: string, payload: unknown) {
    this.sent.push({ channel, payload });
  }
  onClosed(cb: () => void) {
    this.closedCbs.push(cb);
  }
  /** Simulates the user closing the window. */
  close() {
    this.destroyed = true;
    for (const cb of this.closedCbs) cb();
  }
}

export class FakeShell implements Shell {
  lockAvailable = true;
  quitCalls = 0;
  dockHidden = false;
  keptAlive = false;
  login = false;
  notifications: NotificationSpec[] = [];
  supportsNotifications = true;
  windows: FakeWindow[] = [];
  handlers = new Map<string, (s: IpcSender, p: unknown) => Promise<unknown>>();
  appEvents = new Map<string, () => void>();
  csp: string | null = null;
  trayState: {
    image: TrayColour | null;
    tooltip: string;
    title: string;
    menu: MenuItem[];
    click: (() => void) | null;
  } = {
    image: null,
    tooltip: '',
    title: '',
    menu: [],
    click: null,
  };
  private nextId = 100;

  app = {
    requestSingleInstanceLock: () => this.lockAvailable,
    on: (event: 'second-instance' | 'activate' | 'before-quit', cb: () => void) => {
      this.appEvents.set(event, cb);
    },
    keepAliveWithoutWindows: () => {
      this.keptAlive = true;
    },
    whenReady: async () => {},
    quit: () => {
      this.quitCalls++;
      this.appEvents.get('before-quit')?.();
    },
    isPackaged: false,
    platform: 'linux' as NodeJS.Platform,
    hideDock: () => {
      this.dockHidden = true;
    },
  };

  tray = {
    setImage: (c: TrayColour) => {
      this.trayState.image = c;
    },
    setToolTip: (t: string) => {
      this.trayState.tooltip = t;
    },
    setTitle: (t: string) => {
      this.trayState.title = t;
    },
    setContextMenu: (items: MenuItem[]) => {
      this.trayState.menu = items;
    },
    onClick: (cb: () => void) => {
      this.trayState.click = cb;
    },
  };

  createWindow(spec: WindowSpec, policy: NavigationPolicy): FakeWindow {
    const w = new FakeWindow(this.nextId++, spec, policy);
    this.windows.push(w);
    return w;
  }
  notificationsSupported() {
    return this.supportsNotifications;
  }
  notify(spec: NotificationSpec) {
    this.notifications.push(spec);
  }
  setLoginItem(enabled: boolean) {
    this.login = enabled;
  }
  getLoginItem() {
    return this.login;
  }
  ipc = {
    handle: (channel: string, h: (s: IpcSender, p: unknown) => Promise<unknown>) => {
      if (this.handlers.has(channel)) throw new Error(`second handler for ${channel}`);
      this.handlers.set(channel, h);
    },
  };
  setCspHeader(csp: string) {
    this.csp = csp;
  }

  /** Acts as the renderer: `ipcRenderer.invoke(channel, payload)` from `sender`. */
  invoke(channel: string, sender: IpcSender, payload?: unknown): Promise<unknown> {
    const h = this.handlers.get(channel);
    if (!h) throw new Error(`no handler for ${channel}`);
    return h(sender, payload);
  }

  /** The menu item with `id` (throws when absent). */
  menuItem(id: string): MenuItem {
    const it = this.trayState.menu.find((m) => m.kind !== 'separator' && m.id === id);
    if (!it) throw new Error(`no tray menu item ${id}: ${JSON.stringify(this.trayState.menu)}`);
    return it;
  }
}
