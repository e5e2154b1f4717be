/**
 * The real shell (`shell-electron.ts`) and the preload, run under Node with `electron` replaced by
 * `fake-electron.ts`: checks the options that reach BrowserWindow, the navigation / window-open / webview /
 * permission guards and the CSP header hook it installs, how IPC senders are described, and the exact
 * `window.warden` shape. Needs `npm run build:electron` (skipped otherwise). What this cannot show is that
 * real Electron honours them (see binary.test.ts).
 */
import { test, before } from 'node:test';
import assert from 'node:assert/strict';
import { existsSync } from 'node:fs';
import { createRequire, register } from 'node:module';
import { join } from 'node:path';
import { pathToFileURL } from 'node:url';
import { packageRoot } from '../../core/util/paths.js';
import { CSP } from '../../electron/csp.js';
import type { IpcSender, Shell } from '../../electron/platform.js';
import { lockedDown, mainWindowSpec } from '../../electron/windows.js';
import * as fake from './fake-electron.js';

const shellJs = join(packageRoot, 'dist', 'electron', 'shell-electron.js');
const preloadJs = join(packageRoot, 'dist', 'electron', 'preload.cjs');
const built = existsSync(shellJs) && existsSync(preloadJs);
const notBuilt = `dist/electron not built: run \`npm run build:electron\` (${shellJs})`;

const hook = `
let fakeUrl;
export function initialize(data) { fakeUrl = data.fakeUrl; }
export async function resolve(specifier, context, next) {
  if (specifier === 'electron' && context.parentURL && context.parentURL.includes('/dist/electron/')) {
    return { url: fakeUrl, shortCircuit: true };
  }
  return next(specifier, context);
}`;

let electronShell: () => Shell;
before(async () => {
  if (!built) return;
  register(`data:text/javascript,${encodeURIComponent(hook)}`, {
    data: { fakeUrl: new URL('./fake-electron.js', import.meta.url).href },
  });
  ({ electronShell } = (await import(pathToFileURL(shellJs).href)) as { electronShell: () => Shell });
});

const paths = { rendererHtml: '/app/dist/renderer/index.html', preload: '/app/dist/electron/preload.cjs' };

test(
  'BrowserWindow gets the secure options; navigation, window.open, webviews are refused',
  { skip: !built && notBuilt },
  () => {
    const shell = electronShell();
    const spec = mainWindowSpec(paths);
    const handle = shell.createWindow(spec, lockedDown);
    const win = fake.created.windows.at(-1)!;
    const { role: _role, ...want } = spec;
    assert.deepEqual(win.options, want, 'the spec minus our role tag, unchanged');
    assert.equal(win.menu, null, 'no application menu in the window');
    assert.equal(handle.webContentsId, win.webContents.id);

    for (const event of ['will-navigate', 'will-frame-navigate', 'will-redirect']) {
      let prevented = false;
      win.webContents.emit(event, { url: 'https://evil.example/', preventDefault: () => (prevented = true) });
      assert.ok(prevented, `${event} is prevented`);
    }
    let webview = false;
    win.webContents.emit('will-attach-webview', { preventDefault: () => (webview = true) }, {}, {});
    assert.ok(webview);
    assert.deepEqual(win.webContents.openHandler?.({ url: 'https://evil.example/' }), { action: 'deny' });

    void handle.loadFile(paths.rendererHtml, '/inbox?compact=1');
    assert.deepEqual(win.loads.at(-1), [paths.rendererHtml, { hash: '/inbox?compact=1' }]);
  },
);

test(
  'the CSP header replaces the page’s own; permission requests from any page are refused',
  { skip: !built && notBuilt },
  () => {
    const shell = electronShell();
    shell.createWindow(mainWindowSpec(paths), lockedDown);
    const wc = fake.created.windows.at(-1)!.webContents;
    shell.setCspHeader(CSP);
    const ses = fake.session.defaultSession;
    let answer: unknown;
    ses.headersHook!(
      { responseHeaders: { 'Content-Security-Policy': ['default-src *'], 'X-A': ['1'] } },
      (r: unknown) => (answer = r),
    );
    assert.deepEqual(answer, { responseHeaders: { 'X-A': ['1'], 'Content-Security-Policy': [CSP] } });
    for (const who of [wc, { id: 999 }]) {
      let granted: unknown = 'unanswered';
      ses.permissionRequest!(who, 'media', (g: boolean) => (granted = g), {});
      assert.equal(granted, false);
      assert.equal(ses.permissionCheck!(who, 'notifications', 'file://', {}), false);
    }
    assert.equal(ses.permissionCheck!(null, 'notifications', 'file://', {}), false);
  },
);

test(
  'IPC senders are described by webContents id, frame URL and whether it is the main frame',
  { skip: !built && notBuilt },
  async () => {
    const shell = electronShell();
    const seen: IpcSender[] = [];
    shell.ipc.handle('warden:test', async (s) => {
      seen.push(s);
      return 'ok';
    });
    const h = fake.ipcMain.handlers.get('warden:test')!;
    const top = { url: 'file:///app/dist/renderer/index.html', parent: null };
    assert.equal(await h({ sender: { id: 5 }, senderFrame: top }, {}), 'ok');
    await h({ sender: { id: 5 }, senderFrame: { url: top.url, parent: top } }, {});
    await h({ sender: { id: 6 }, senderFrame: null }, {});
    assert.deepEqual(seen, [
      { webContentsId: 5, frame: { url: top.url, isMainFrame: true } },
      { webContentsId: 5, frame: { url: top.url, isMainFrame: false } },
      { webContentsId: 6, frame: null },
    ]);
  },
);

test(
  'tray, menu, notifications and login item are translated to Electron calls',
  { skip: !built && notBuilt },
  () => {
    const shell = electronShell();
    const calls: string[] = [];
    shell.tray.setImage('amber');
    shell.tray.setToolTip('Warden: 1 pending hold');
    shell.tray.setContextMenu([
      { kind: 'action', id: 'open', label: 'Open Warden', enabled: true, run: () => calls.push('open') },
      { kind: 'separator' },
      {
        kind: 'checkbox',
        id: 'login',
        label: 'Start at login',
        checked: false,
        run: (c) => calls.push(`login:${c}`),
      },
    ]);
    const tray = fake.created.trays.at(-1)!;
    assert.equal(tray.tooltip, 'Warden: 1 pending hold');
    const template = (tray.menu as { template: Record<string, unknown>[] }).template;
    assert.deepEqual(
      template.map((t) => t.type ?? 'normal'),
      ['normal', 'separator', 'checkbox'],
    );
    (template[0]!.click as () => void)();
    (template[2]!.click as (mi: { checked: boolean }) => void)({ checked: true });
    assert.deepEqual(calls, ['open', 'login:true']);

    const acted: number[] = [];
    shell.notify({
      title: 't',
      body: 'b',
      actions: ['Allow once', 'Deny'],
      onClick: () => acted.push(-1),
      onAction: (i) => acted.push(i),
    });
    const n = fake.created.notifications.at(-1)!;
    assert.deepEqual(n.options.actions, [
      { type: 'button', text: 'Allow once' },
      { type: 'button', text: 'Deny' },
    ]);
    assert.ok(n.shown);
    n.emit('action', {}, 1);
    n.emit('click');
    assert.deepEqual(acted, [1, -1]);

    shell.setLoginItem(true);
    assert.equal(fake.app.login.openAtLogin, true);
    assert.equal(shell.getLoginItem(), true);
  },
);

test(
  'the preload exposes exactly {call, onPush, onStatus} as window.warden, never ipcRenderer',
  { skip: !built && notBuilt },
  async () => {
    const require = createRequire(import.meta.url);
    const electronPath = require.resolve('electron');
    require.cache[electronPath] = {
      id: electronPath,
      filename: electronPath,
      loaded: true,
      exports: fake,
    } as never;
    require(preloadJs);
    assert.deepEqual([...fake.contextBridge.exposed.keys()], ['warden']);
    const bridge = fake.contextBridge.exposed.get('warden') as {
      call(m: string, p: unknown): Promise<unknown>;
      onPush(cb: (p: unknown) => void): () => void;
      onStatus(cb: (s: string) => void): () => void;
    };
    assert.deepEqual(Object.keys(bridge).sort(), ['call', 'onPush', 'onStatus']);
    assert.ok(Object.values(bridge).every((v) => typeof v === 'function'));

    fake.ipcRenderer.answers.set('warden:call', {
      ok: false,
      error: { code: 'refused-method', message: 'no' },
    });
    assert.deepEqual(await bridge.call('shutdown', {}), {
      ok: false,
      error: { code: 'refused-method', message: 'no' },
    });
    assert.deepEqual(fake.ipcRenderer.invoked.at(-1), ['warden:call', { method: 'shutdown', params: {} }]);
    fake.ipcRenderer.answers.set('warden:call', 'garbage');
    assert.equal(((await bridge.call('status', {})) as { ok: boolean }).ok, false);

    const pushes: unknown[] = [];
    const off = bridge.onPush((p) => pushes.push(p));
    fake.ipcRenderer.emit(
      'warden:push',
      { sender: 'the IPC event must not leak' },
      { type: 'run.started', run: 1 },
    );
    off();
    fake.ipcRenderer.emit('warden:push', {}, { type: 'run.started', run: 2 });
    assert.deepEqual(pushes, [{ type: 'run.started', run: 1 }], 'payload only, and unsubscribe works');

    fake.ipcRenderer.answers.set('warden:status', { ok: true, result: 'connected' });
    const statuses: string[] = [];
    bridge.onStatus((s) => statuses.push(s));
    await new Promise((r) => setImmediate(r));
    fake.ipcRenderer.emit('warden:status-changed', {}, 'disconnected');
    assert.deepEqual(statuses, ['connected', 'disconnected'], 'the current status first, then changes');
  },
);
