/**
 * The app's two windows and the rules every window obeys (Electron security checklist, STYLE.md):
 * context isolation, sandbox, no Node in the page, web security on, a preload exposing only `window.warden`,
 * no navigation away from the bundled renderer, no new windows, no `<webview>`, no permission grants, no
 * remote content. Both windows load the same renderer file; the approval window opens `#/inbox?compact=1`.
 */
import type { NavigationPolicy, Shell, WindowHandle, WindowSpec } from './platform.js';

export interface AppPaths {
  /** Absolute path of `dist/renderer/index.html`. */
  rendererHtml: string;
  /** Absolute path of the compiled preload (`dist/electron/preload.cjs`). */
  preload: string;
}

/** Hash route of the compact, keyboard-driven approval view. */
export const APPROVAL_HASH = '/inbox?compact=1';

/** webPreferences every window gets. Typed with literal `true`/`false` so a weaker value does not compile. */
export function secureWebPreferences(preload: string): WindowSpec['webPreferences'] {
  return {
    preload,
    contextIsolation: true,
    sandbox: true,
    nodeIntegration: false,
    nodeIntegrationInWorker: false,
    nodeIntegrationInSubFrames: false,
    webSecurity: true,
    allowRunningInsecureContent: false,
    webviewTag: false,
    experimentalFeatures: false,
    navigateOnDragDrop: false,
    spellcheck: false,
  };
}

export function mainWindowSpec(paths: AppPaths): WindowSpec {
  return {
    role: 'main',
    width: 1200,
    height: 800,
    minWidth: 720,
    minHeight: 480,
    title: 'Warden',
    show: false,
    alwaysOnTop: false,
    skipTaskbar: false,
    resizable: true,
    autoHideMenuBar: true,
    backgroundColor: '#111418',
    webPreferences: secureWebPreferences(paths.preload),
  };
}

export function approvalWindowSpec(paths: AppPaths): WindowSpec {
  return {
    role: 'approval',
    width: 520,
    height: 420,
    title: 'Warden — hold waiting',
    show: false,
    alwaysOnTop: true,
    skipTaskbar: true,
    resizable: false,
    autoHideMenuBar: true,
    backgroundColor: '#111418',
    webPreferences: secureWebPreferences(paths.preload),
  };
}

/**
 * The page may do nothing but stay where it is. In-page hash routing does not count as navigation
 * (`will-navigate` is not emitted for it), so the renderer's router keeps working.
 */
export const lockedDown: NavigationPolicy = {
  allowNavigation: () => false,
  allowWindowOpen: () => false,
  allowPermission: () => false,
  allowWebview: () => false,
};

/** Creates, reuses and tracks the main and approval windows. */
export class Windows {
  private main: WindowHandle | null = null;
  private approval: WindowHandle | null = null;
  private readonly open = new Map<number, WindowHandle>();

  constructor(
    private readonly shell: Shell,
    private readonly paths: AppPaths,
  ) {}

  /** True when `webContentsId` is one of our windows still open (the IPC sender check uses it). */
  isOurs(webContentsId: number): boolean {
    const w = this.open.get(webContentsId);
    return !!w && !w.isDestroyed();
  }

  /** Every open window, for broadcasting pushes. */
  all(): WindowHandle[] {
    return [...this.open.values()].filter((w) => !w.isDestroyed());
  }

  /** Shows and focuses the main window, creating it on first use. */
  async showMain(): Promise<WindowHandle> {
    if (!this.main || this.main.isDestroyed()) {
      const w = this.track(
        this.shell.createWindow(mainWindowSpec(this.paths), lockedDown),
        () => (this.main = null),
      );
      this.main = w;
      await w.loadFile(this.paths.rendererHtml);
    }
    this.main.show();
    this.main.focus();
    return this.main;
  }

  /**
   * Shows the approval window; `focus` brings it to the front and gives it the keyboard (a new `ask` hold),
   * otherwise it is shown without stealing focus from an already visible one.
   */
  async showApproval(focus: boolean): Promise<WindowHandle> {
    if (!this.approval || this.approval.isDestroyed()) {
      const w = this.track(
        this.shell.createWindow(approvalWindowSpec(this.paths), lockedDown),
        () => (this.approval = null),
      );
      this.approval = w;
      await w.loadFile(this.paths.rendererHtml, APPROVAL_HASH);
    }
    if (focus || !this.approval.isVisible()) {
      this.approval.show();
      this.approval.focus();
    }
    return this.approval;
  }

  /** Hides the approval window (nothing left pending). */
  hideApproval(): void {
    if (this.approval && !this.approval.isDestroyed()) this.approval.hide();
  }

  private track(w: WindowHandle, onGone: () => void): WindowHandle {
    this.open.set(w.webContentsId, w);
    w.onClosed(() => {
      this.open.delete(w.webContentsId);
      onGone();
    });
    return w;
  }
}
