/**
 * A stand-in for the `electron` module, loaded in place of it (via a module resolve hook, or require.cache
 * for the CommonJS preload) so that `shell-electron.ts` and the preload run under plain Node and their
 * wiring can be checked: which options reach BrowserWindow, which handlers are installed, what they decide.
 */
type Fn = (...a: any[]) => any; // eslint-disable-line @typescript-eslint/no-explicit-any

class Emitter {
  handlers = new Map<string, Fn[]>();
  on(event: string, cb: Fn) {
    this.handlers.set(event, [...(this.handlers.get(event) ?? []), cb]);
    return this;
  }
  removeListener(event: string, cb: Fn) {
    this.handlers.set(
      event,
      (this.handlers.get(event) ?? []).filter((h) => h !== cb),
    );
    return this;
  }
  emit(event: string, ...args: unknown[]) {
    for (const h of this.handlers.get(event) ?? []) h(...args);
  }
}

let nextWc = 1;
export class FakeWebContents extends Emitter {
  id = nextWc++;
  openHandler: Fn | null = null;
  sent: [string, unknown][] = [];
  setWindowOpenHandler(h: Fn) {
    this.openHandler = h;
  }
  send(channel: string, payload: unknown) {
    this.sent.push([channel, payload]);
  }
}

export const created: { windows: BrowserWindow[]; trays: Tray[]; notifications: Notification[] } = {
  windows: [],
  trays: [],
  notifications: [],
};

export class BrowserWindow extends Emitter {
  webContents = new FakeWebContents();
  loads: [string, unknown][] = [];
  menu: unknown = 'default';
  destroyed = false;
  visible = false;
  constructor(readonly options: Record<string, unknown>) {
    super();
    created.windows.push(this);
  }
  loadFile(path: string, opts: unknown) {
    this.loads.push([path, opts]);
    return Promise.resolve();
  }
  setMenu(m: unknown) {
    this.menu = m;
  }
  show() {
    this.visible = true;
  }
  hide() {
    this.visible = false;
  }
  focus() {}
  isDestroyed() {
    return this.destroyed;
  }
  isVisible() {
    return this.visible;
  }
}

export class Tray extends Emitter {
  tooltip = '';
  title = '';
  menu: unknown = null;
  constructor(public image: unknown) {
    super();
    created.trays.push(this);
  }
  setImage(i: unknown) {
    this.image = i;
  }
  setToolTip(t: string) {
    this.tooltip = t;
  }
  setTitle(t: string) {
    this.title = t;
  }
  setContextMenu(m: unknown) {
    this.menu = m;
  }
}

export class Notification extends Emitter {
  shown = false;
  static isSupported() {
    return true;
  }
  constructor(readonly options: Record<string, unknown>) {
    super();
    created.notifications.push(this);
  }
  show() {
    this.shown = true;
  }
}

export const Menu = { buildFromTemplate: (template: unknown[]) => ({ template }) };
export const nativeImage = { createFromBitmap: (buf: Buffer, opts: unknown) => ({ buf, opts }) };

export const ipcMain = {
  handlers: new Map<string, Fn>(),
  handle(channel: string, h: Fn) {
    this.handlers.set(channel, h);
  },
};

export const session = {
  defaultSession: {
    headersHook: null as Fn | null,
    permissionRequest: null as Fn | null,
    permissionCheck: null as Fn | null,
    webRequest: {
      onHeadersReceived: (h: Fn) => {
        session.defaultSession.headersHook = h;
      },
    },
    setPermissionRequestHandler(h: Fn) {
      this.permissionRequest = h;
    },
    setPermissionCheckHandler(h: Fn) {
      this.permissionCheck = h;
    },
  },
};

export const app = Object.assign(new Emitter(), {
  isPackaged: false,
  login: { openAtLogin: false } as Record<string, unknown>,
  focusCalls: [] as unknown[],
  focus(opts: unknown) {
    app.focusCalls.push(opts);
  },
  requestSingleInstanceLock: () => true,
  whenReady: () => Promise.resolve(),
  quit() {},
  setLoginItemSettings(s: Record<string, unknown>) {
    app.login = s;
  },
  getLoginItemSettings: () => app.login,
  dock: { hidden: false, hide: () => (app.dock.hidden = true) },
});

/** The preload's view of Electron. */
export const contextBridge = {
  exposed: new Map<string, unknown>(),
  exposeInMainWorld(name: string, api: unknown) {
    this.exposed.set(name, api);
  },
};

export const ipcRenderer = Object.assign(new Emitter(), {
  invoked: [] as [string, unknown][],
  answers: new Map<string, unknown>(),
  invoke(channel: string, payload?: unknown) {
    ipcRenderer.invoked.push([channel, payload]);
    return Promise.resolve(ipcRenderer.answers.get(channel));
  },
});
