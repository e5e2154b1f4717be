/**
 * The few Electron facilities the desktop shell uses, behind an interface so that everything above it (tray
 * state, IPC validation, window policy, notifications) is plain TypeScript tested without an Electron binary
 * (PLATFORM.md: none can be downloaded here). `shell-electron.ts` is the only main-process file that imports
 * `electron`; tests use a fake. This file must not import `electron` either: the root build compiles it.
 */

/** Colour of the tray icon; one image per colour ships in `electron/assets/`. */
export type TrayColour = 'green' | 'amber' | 'red' | 'grey';

/** One entry of the tray's context menu (Electron `MenuItemConstructorOptions`, reduced to what we use). */
export type MenuItem =
  | { kind: 'action'; id: string; label: string; enabled: boolean; run: () => void }
  | { kind: 'checkbox'; id: string; label: string; checked: boolean; run: (checked: boolean) => void }
  | { kind: 'separator' };

/** What the renderer's IPC sender looked like, as far as the sender check needs it. */
export interface IpcSender {
  /** `webContents.id` of the sending page. */
  webContentsId: number;
  /** The sending frame, or null when Electron no longer knows it (navigated away, destroyed). */
  frame: { url: string; isMainFrame: boolean } | null;
}

/** BrowserWindow options the shell passes through (a subset of `BrowserWindowConstructorOptions`). */
export interface WindowSpec {
  role: 'main' | 'approval';
  width: number;
  height: number;
  minWidth?: number;
  minHeight?: number;
  title: string;
  show: boolean;
  alwaysOnTop: boolean;
  skipTaskbar: boolean;
  resizable: boolean;
  autoHideMenuBar: boolean;
  backgroundColor: string;
  webPreferences: {
    preload: string;
    contextIsolation: true;
    sandbox: true;
    nodeIntegration: false;
    nodeIntegrationInWorker: false;
    nodeIntegrationInSubFrames: false;
    webSecurity: true;
    allowRunningInsecureContent: false;
    webviewTag: false;
    experimentalFeatures: false;
    navigateOnDragDrop: false;
    spellcheck: false;
  };
}

/** Decides what a window may do beyond showing the page it was given. The real shell wires it to
 * `will-navigate`, `will-redirect`, `will-attach-webview`, `setWindowOpenHandler` and permission requests. */
export interface NavigationPolicy {
  /** Called for every attempted top-level or frame navigation away from the loaded page. */
  allowNavigation(url: string): boolean;
  /** Called for `window.open` / target=_blank; true would open a new Electron window. */
  allowWindowOpen(url: string): boolean;
  /** Called for permission requests (camera, notifications from the page, …). */
  allowPermission(permission: string): boolean;
  /** Called when the page tries to attach a `<webview>`. */
  allowWebview(): boolean;
}

/** A window the shell created. */
export interface WindowHandle {
  /** `webContents.id`: how IPC senders are matched to our windows. */
  readonly webContentsId: number;
  /** Loads a local file (absolute path), with an optional hash such as `/inbox?compact=1`. */
  loadFile(path: string, hash?: string): Promise<void>;
  show(): void;
  focus(): void;
  hide(): void;
  isDestroyed(): boolean;
  isVisible(): boolean;
  /** Sends a message to the page (`webContents.send`). */
  send(channel: string, payload: unknown): void;
  onClosed(cb: () => void): void;
}

/** A native notification with optional action buttons (macOS shows them; Linux/Windows may not). */
export interface NotificationSpec {
  title: string;
  body: string;
  actions: string[];
  onClick: () => void;
  /** Called with the index into `actions` of the button pressed. */
  onAction: (index: number) => void;
}

/** The Electron surface used by the desktop shell. */
export interface Shell {
  app: {
    /** False when another instance holds the lock: this one must quit. */
    requestSingleInstanceLock(): boolean;
    on(event: 'second-instance' | 'activate' | 'before-quit', cb: () => void): void;
    /** Keep running with no window open (a tray app); Electron's default would quit. */
    keepAliveWithoutWindows(): void;
    whenReady(): Promise<void>;
    quit(): void;
    isPackaged: boolean;
    platform: NodeJS.Platform;
    /** Hides the macOS dock icon (menu-bar app); a no-op elsewhere. */
    hideDock(): void;
  };
  tray: {
    setImage(colour: TrayColour): void;
    setToolTip(text: string): void;
    /** macOS menu-bar text beside the icon (the pending count); ignored elsewhere. */
    setTitle(text: string): void;
    setContextMenu(items: MenuItem[]): void;
    /** Tray click (unreliable on Linux AppIndicator: the menu must offer everything too). */
    onClick(cb: () => void): void;
  };
  createWindow(spec: WindowSpec, policy: NavigationPolicy): WindowHandle;
  /** False where the platform has no notification server. */
  notificationsSupported(): boolean;
  notify(spec: NotificationSpec): void;
  setLoginItem(enabled: boolean): void;
  getLoginItem(): boolean;
  ipc: {
    /** Registers the handler for `ipcRenderer.invoke(channel, payload)`; its result goes back to the page. */
    handle(channel: string, handler: (sender: IpcSender, payload: unknown) => Promise<unknown>): void;
  };
  /** Sets the Content-Security-Policy response header on our pages (`session.webRequest.onHeadersReceived`). */
  setCspHeader(csp: string): void;
}
