/**
 * Electron's security checklist (STYLE.md) as assertions: every window is context-isolated, sandboxed, has no
 * Node, keeps web security, loads our preload, may not navigate, open windows, attach webviews or get
 * permissions; the CSP is strict and is also shipped by the built renderer; only the shell file imports
 * `electron` and core never imports electron.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { existsSync, readdirSync, readFileSync, statSync } from 'node:fs';
import { join } from 'node:path';
import { packageRoot } from '../../core/util/paths.js';
import { CSP, cspWeaknesses, metaCsp, withCsp } from '../../electron/csp.js';
import {
  approvalWindowSpec,
  APPROVAL_HASH,
  lockedDown,
  mainWindowSpec,
  Windows,
} from '../../electron/windows.js';
import { FakeShell } from './fake-shell.js';

const paths = { rendererHtml: '/app/dist/renderer/index.html', preload: '/app/dist/electron/preload.cjs' };

test('every window: contextIsolation, sandbox, no nodeIntegration anywhere, webSecurity, our preload', () => {
  for (const spec of [mainWindowSpec(paths), approvalWindowSpec(paths)]) {
    const wp = spec.webPreferences;
    assert.equal(wp.contextIsolation, true);
    assert.equal(wp.sandbox, true);
    assert.equal(wp.nodeIntegration, false);
    assert.equal(wp.nodeIntegrationInWorker, false);
    assert.equal(wp.nodeIntegrationInSubFrames, false);
    assert.equal(wp.webSecurity, true);
    assert.equal(wp.allowRunningInsecureContent, false);
    assert.equal(wp.webviewTag, false);
    assert.equal(wp.preload, paths.preload);
    assert.equal(spec.show, false, 'shown only once loaded, by the app');
  }
  const approval = approvalWindowSpec(paths);
  assert.equal(approval.alwaysOnTop, true);
  assert.ok(approval.width <= 600 && approval.height <= 500, 'the approval window is small');
});

test('navigation, new windows, webviews and permissions are all refused', () => {
  for (const url of [
    'https://example.com/',
    'file:///etc/passwd',
    'file:///app/dist/renderer/index.html',
    'javascript:alert(1)',
    'about:blank',
  ]) {
    assert.equal(lockedDown.allowNavigation(url), false, url);
    assert.equal(lockedDown.allowWindowOpen(url), false, url);
  }
  for (const p of ['media', 'geolocation', 'notifications', 'openExternal', 'clipboard-read']) {
    assert.equal(lockedDown.allowPermission(p), false, p);
  }
  assert.equal(lockedDown.allowWebview(), false);
});

test('Windows creates both windows with the locked-down policy; the approval window loads the compact inbox', async () => {
  const shell = new FakeShell();
  const w = new Windows(shell, paths);
  const main = await w.showMain();
  const approval = await w.showApproval(true);
  assert.equal(shell.windows.length, 2);
  for (const fw of shell.windows) assert.equal(fw.policy, lockedDown);
  assert.deepEqual(shell.windows[1]!.loaded, { path: paths.rendererHtml, hash: APPROVAL_HASH });
  assert.equal(APPROVAL_HASH, '/inbox?compact=1');
  assert.ok(w.isOurs(main.webContentsId) && w.isOurs(approval.webContentsId));
  assert.equal(await w.showMain(), main, 'reused, not duplicated');
  shell.windows[0]!.close();
  assert.equal(w.isOurs(main.webContentsId), false);
  assert.notEqual(await w.showMain(), main, 'a closed main window is recreated');
});

test('the CSP is strict: default-src none, no unsafe-*, nothing remote', () => {
  assert.deepEqual(cspWeaknesses(CSP), []);
  assert.match(CSP, /script-src 'self'/);
  assert.deepEqual(
    cspWeaknesses("default-src 'self'; script-src 'self' 'unsafe-inline' https://cdn.example"),
    [
      "default-src is not 'none'",
      "script-src allows 'unsafe-inline'",
      'script-src allows remote source https://cdn.example',
    ],
  );
  const h = withCsp({ 'content-security-policy': ['default-src *'], 'X-Other': ['1'] });
  assert.deepEqual(h, { 'X-Other': ['1'], 'Content-Security-Policy': [CSP] });
  assert.equal(
    metaCsp(
      `<head><meta charset="utf-8"><meta http-equiv="Content-Security-Policy" content="${CSP}"></head>`,
    ),
    CSP,
  );
  assert.equal(metaCsp('<head><meta charset="utf-8"></head>'), null);
});

test('the built renderer ships a CSP meta tag at least as strict as ours', (t) => {
  const html = join(packageRoot, 'dist', 'renderer', 'index.html');
  if (!existsSync(html)) {
    t.skip(`renderer not built (${html} absent): run the renderer build first`);
    return;
  }
  const csp = metaCsp(readFileSync(html, 'utf8'));
  if (!csp) {
    // Not counted as passed: until the renderer ships the meta tag, Electron windows rely on the header set
    // through onHeadersReceived alone, whose effect on file:// pages cannot be checked without Electron.
    t.skip(`${html} ships no <meta http-equiv="Content-Security-Policy"> yet (policy: electron/csp.ts CSP)`);
    return;
  }
  assert.deepEqual(cspWeaknesses(csp), []);
  assert.equal(csp, CSP, 'renderer/index.html carries exactly the policy of electron/csp.ts');
});

function tsFiles(dir: string): string[] {
  return readdirSync(dir).flatMap((n) => {
    const p = join(dir, n);
    return statSync(p).isDirectory() ? tsFiles(p) : /\.c?ts$/.test(n) ? [p] : [];
  });
}

test('import rules: only shell-electron.ts and the preload import electron; core never imports electron/', () => {
  const importsElectron = (src: string) =>
    /from\s+['"]electron['"]|require\(\s*['"]electron['"]\s*\)/.test(src);
  const importers = tsFiles(join(packageRoot, 'electron'))
    .filter((f) => importsElectron(readFileSync(f, 'utf8')))
    .map((f) => f.slice(packageRoot.length))
    .sort();
  assert.deepEqual(importers, ['electron/preload.cts', 'electron/shell-electron.ts']);
  for (const f of tsFiles(join(packageRoot, 'core'))) {
    const src = readFileSync(f, 'utf8');
    assert.ok(!importsElectron(src) && !/from\s+['"][./]*electron\//.test(src), f);
  }
  // electron/ reaches into core only through the contract, the socket client and the path helpers.
  for (const f of tsFiles(join(packageRoot, 'electron'))) {
    for (const m of readFileSync(f, 'utf8').matchAll(/from\s+['"](\.\.\/core\/[^'"]+)['"]/g)) {
      assert.ok(
        ['../core/api/contract.js', '../core/api/client.js', '../core/util/paths.js'].includes(m[1]!),
        `${f}: ${m[1]}`,
      );
    }
  }
});

test('the real shell wires every navigation guard and the preload exposes only the bridge', () => {
  const shell = readFileSync(join(packageRoot, 'electron', 'shell-electron.ts'), 'utf8');
  for (const hook of [
    "'will-navigate'",
    "'will-frame-navigate'",
    "'will-redirect'",
    "'will-attach-webview'",
    'setWindowOpenHandler',
    'setPermissionRequestHandler',
    'setPermissionCheckHandler',
    'onHeadersReceived',
  ]) {
    assert.ok(shell.includes(hook), `shell-electron.ts does not use ${hook}`);
  }
  const preload = readFileSync(join(packageRoot, 'electron', 'preload.cts'), 'utf8');
  const exposed = [...preload.matchAll(/exposeInMainWorld\(\s*'([^']+)'\s*,\s*(\w+)\s*\)/g)].map((m) => [
    m[1],
    m[2],
  ]);
  assert.deepEqual(exposed, [['warden', 'bridge']]);
  assert.doesNotMatch(preload, /exposeInMainWorld\([^)]*ipcRenderer/);
});
