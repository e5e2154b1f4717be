/**
 * The desktop app's main-process logic end to end with a fake Electron shell and a real daemon on a temp
 * state dir: renderer calls are validated then forwarded, pushes reach the windows, a new `ask` hold opens
 * and focuses the approval window and notifies, the tray follows, and a dead daemon turns it red.
 */
import { describe, test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { connect, type Socket } from 'node:net';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { startDaemon } from '../../core/daemon/server.js';
import { DaemonClient } from '../../core/api/client.js';
import { ensureStateDir, type StateLayout } from '../../core/util/paths.js';
import { rendererFileUrl, startApp, type WardenApp } from '../../electron/app.js';
import { DaemonLink } from '../../electron/daemon-link.js';
import { CHANNEL } from '../../electron/ipc.js';
import { APPROVAL_HASH } from '../../electron/windows.js';
import { FakeShell, type FakeWindow } from './fake-shell.js';

const paths = {
  rendererHtml: '/opt/warden app/dist/renderer/index.html',
  preload: '/opt/warden app/dist/electron/preload.cjs',
};

async function until(what: string, cond: () => boolean, ms = 5000): Promise<void> {
  const end = Date.now() + ms;
  while (!cond()) {
    if (Date.now() > end) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 10));
  }
}

/** Plays the helper's side of the hold conversation (WIRE.md §3) on the daemon socket. */
async function fakeHelper(socket: string, run: number): Promise<{ sock: Socket; lines: string[] }> {
  const sock = connect(socket);
  await new Promise((r) => sock.once('connect', r));
  const lines: string[] = [];
  let buf = '';
  sock.on('data', (d) => {
    buf += d;
    let i;
    while ((i = buf.indexOf('\n')) >= 0) {
      lines.push(buf.slice(0, i));
      buf = buf.slice(i + 1);
    }
  });
  sock.write(JSON.stringify({ t: 'hello', run }) + '\n');
  return { sock, lines };
}

describe('desktop app against a real daemon', () => {
  let layout: StateLayout;
  let stop: () => Promise<void>;
  let shell: FakeShell;
  let app: WardenApp;
  const log: string[] = [];
  before(async () => {
    layout = ensureStateDir(mkdtempSync(join(tmpdir(), 'warden-electron-')));
    ({ stop } = await startDaemon(layout, { idleExitSec: 0, log: () => {}, httpPort: null }));
    shell = new FakeShell();
    const started = await startApp({
      shell,
      paths,
      layout,
      autostart: false,
      node: { execPath: process.execPath },
      pollMs: 100,
      log: (l) => log.push(l),
    });
    assert.ok(started);
    app = started;
  });
  after(async () => {
    app?.stop();
    await stop?.().catch(() => {});
    rmSync(layout.dir, { recursive: true, force: true });
  });

  const sender = (w: FakeWindow, hash = '') => ({
    webContentsId: w.webContentsId,
    frame: { url: rendererFileUrl(paths.rendererHtml) + hash, isMainFrame: true },
  });

  test('connects, sets the CSP, keeps running without windows, shows an idle tray', () => {
    assert.equal(app.link.status(), 'connected');
    assert.ok(shell.keptAlive);
    assert.match(shell.csp ?? '', /default-src 'none'/);
    assert.equal(shell.trayState.image, 'grey');
    assert.match(shell.trayState.tooltip, /idle/);
  });

  test('"Open Warden" opens the main window; its calls reach the daemon; refused and bad ones do not', async () => {
    const open = shell.menuItem('open');
    assert.ok(open.kind === 'action');
    open.run();
    await until('main window', () => shell.windows.length === 1 && shell.windows[0]!.loaded !== null);
    const w = shell.windows[0]!;
    assert.deepEqual(w.loaded, { path: paths.rendererHtml });
    assert.ok(w.visible);

    assert.deepEqual(
      await shell.invoke(CHANNEL.call, sender(w, '#/timeline'), { method: 'runs.list', params: {} }),
      {
        ok: true,
        result: [],
      },
    );
    const st = (await shell.invoke(CHANNEL.call, sender(w), { method: 'status', params: {} })) as {
      ok: true;
      result: { pid: number };
    };
    assert.equal(st.result.pid, process.pid, 'answered by the real daemon in this process');

    const decide = (await shell.invoke(CHANNEL.call, sender(w), {
      method: 'holds.decide',
      params: { id: '9-9', decision: 'deny' },
    })) as { ok: false; error: { code: string } };
    assert.equal(decide.ok, false);
    assert.notEqual(
      decide.error.code,
      'bad-params',
      'valid params reached the daemon, which knows no such hold',
    );

    assert.deepEqual(await shell.invoke(CHANNEL.call, sender(w), { method: 'shutdown', params: {} }), {
      ok: false,
      error: { code: 'refused-method', message: 'shutdown cannot be called from the desktop app' },
    });
    const foreign = { webContentsId: 4242, frame: sender(w).frame };
    assert.equal(
      ((await shell.invoke(CHANNEL.call, foreign, { method: 'runs.list', params: {} })) as { ok: boolean })
        .ok,
      false,
    );
    // The daemon is still up after the refused shutdown.
    const c = await DaemonClient.connect(layout.socket);
    assert.ok(await c.call('status', {}));
    c.close();
    assert.deepEqual(await shell.invoke(CHANNEL.status, sender(w)), { ok: true, result: 'connected' });
  });

  test('a new ask hold: approval window opened and focused, notification, push forwarded, tray amber; deny from the notification reaches the helper', async () => {
    const helper = await fakeHelper(layout.socket, 5);
    helper.sock.write(
      JSON.stringify({
        t: 'hold', hold: 1, ts: Date.now(), pid: 4242, op: 'delete', path: '/home/u/notes.txt', decision: 'ask',
        rule: 'delete-outside-workspace', deadline_ms: Date.now() + 60000, fallback: 'deny',
      }) + '\n', // prettier-ignore
    );
    await until('approval window', () => shell.windows.some((w) => w.spec.role === 'approval' && w.visible));
    const approval = shell.windows.find((w) => w.spec.role === 'approval')!;
    assert.deepEqual(approval.loaded, { path: paths.rendererHtml, hash: APPROVAL_HASH });
    assert.ok(approval.focused >= 1);
    assert.equal(approval.spec.alwaysOnTop, true);
    await until('tray amber', () => shell.trayState.image === 'amber');
    assert.match(shell.trayState.tooltip, /1 pending hold$/);
    assert.equal(shell.trayState.title, '1');
    const pendingItem = shell.menuItem('pending');
    assert.ok(
      pendingItem.kind === 'action' && pendingItem.label === 'Pending holds (1)…' && pendingItem.enabled,
    );

    const main = shell.windows.find((w) => w.spec.role === 'main')!;
    const pushes = main.sent
      .filter((s) => s.channel === CHANNEL.push)
      .map((s) => s.payload as { type: string; hold?: { id: string } });
    assert.deepEqual(
      pushes.map((p) => [p.type, p.hold?.id]),
      [['hold.new', '5-1']],
    );

    assert.equal(shell.notifications.length, 1);
    const n = shell.notifications[0]!;
    assert.match(n.title, /delete held \(run 5\)/);
    assert.match(n.body, /\/home\/u\/notes\.txt/);
    assert.deepEqual(n.actions, [], 'no action buttons off macOS; a click opens the approval window');
    // An app started while the hold waits (e.g. at login) shows it at once, without a notification.
    const late = new FakeShell();
    const lateApp = await startApp({
      shell: late,
      paths,
      layout,
      autostart: false,
      node: { execPath: process.execPath },
      log: () => {},
    });
    await until('late approval window', () =>
      late.windows.some((w) => w.spec.role === 'approval' && w.visible),
    );
    assert.equal(late.trayState.image, 'amber');
    assert.equal(late.notifications.length, 0);
    lateApp?.stop();

    n.onAction(1); // as macOS would report "Deny"
    await until('decide line at the helper', () => helper.lines.length > 0);
    const decide = JSON.parse(helper.lines[0]!) as Record<string, unknown>;
    assert.deepEqual([decide.t, decide.hold, decide.decision, decide.by], ['decide', 1, 'deny', 'person']);

    helper.sock.write(JSON.stringify({ t: 'resolved', hold: 1, decision: 'deny', by: 'person' }) + '\n');
    await until('tray leaves amber', () => shell.trayState.image !== 'amber');
    assert.equal(approval.visible, false, 'nothing left pending: the approval window hides');
    // The approval window was created by the hold.new push (its page loads the pending list itself with
    // holds.list); later pushes reach it like every other window.
    assert.ok(
      approval.sent.some(
        (s) => s.channel === CHANNEL.push && (s.payload as { type: string }).type === 'hold.resolved',
      ),
    );
    helper.sock.destroy();
  });

  test('a closed window is no longer an accepted sender', async () => {
    const main = shell.windows.find((w) => w.spec.role === 'main')!;
    main.close();
    const a = (await shell.invoke(CHANNEL.call, sender(main), { method: 'runs.list', params: {} })) as {
      ok: boolean;
      error?: { code: string };
    };
    assert.equal(a.error?.code, 'ipc-forbidden');
  });

  test('"Start at login" toggles the login item', () => {
    const item = shell.menuItem('login');
    assert.ok(item.kind === 'checkbox' && item.checked === false);
    item.run(true);
    assert.equal(shell.login, true);
    const again = shell.menuItem('login');
    assert.ok(again.kind === 'checkbox' && again.checked === true);
  });

  test('the daemon going away turns the tray red and windows hear "disconnected"', async () => {
    const approval = shell.windows.find((w) => w.spec.role === 'approval')!;
    await stop();
    await until('tray red', () => shell.trayState.image === 'red', 5000);
    assert.match(shell.trayState.tooltip, /daemon unreachable/);
    assert.ok(approval.sent.some((s) => s.channel === CHANNEL.statusChanged && s.payload === 'disconnected'));
    const a = (await shell.invoke(CHANNEL.call, sender(approval, '#/inbox'), {
      method: 'runs.list',
      params: {},
    })) as {
      ok: boolean;
      error?: { code: string };
    };
    assert.equal(a.error?.code, 'daemon-unreachable');
    // And back: a new daemon on the same state dir is found by the reconnect loop.
    ({ stop } = await startDaemon(layout, { idleExitSec: 0, log: () => {}, httpPort: null }));
    await until('reconnected', () => app.link.status() === 'connected', 8000);
    await until('tray not red', () => shell.trayState.image !== 'red');
  });

  test('a second instance quits at once', async () => {
    const second = new FakeShell();
    second.lockAvailable = false;
    const r = await startApp({
      shell: second,
      paths,
      layout,
      autostart: false,
      node: { execPath: process.execPath },
      log: () => {},
    });
    assert.equal(r, null);
    assert.equal(second.quitCalls, 1);
    assert.equal(second.windows.length, 0);
  });
});

test('with nothing listening, the link starts `warden daemon` detached and connects to it', async (t) => {
  const layout = ensureStateDir(mkdtempSync(join(tmpdir(), 'warden-electron-auto-')));
  const statuses: string[] = [];
  const link = new DaemonLink({
    layout,
    autostart: true,
    node: { execPath: process.execPath },
    pollMs: 1000,
    maxBackoffMs: 1000,
    onStatus: (s) => statuses.push(s),
    onPush: () => {},
    onHolds: () => {},
    onHealth: () => {},
    log: () => {},
  });
  t.after(async () => {
    link.stop();
    const c = await DaemonClient.connect(layout.socket).catch(() => null);
    await c?.call('shutdown', {}).catch(() => {});
    c?.close();
    await new Promise((r) => setTimeout(r, 200));
    rmSync(layout.dir, { recursive: true, force: true });
  });
  await link.start();
  assert.deepEqual(statuses, ['connecting', 'connected']);
  const st = (await link.call('status', {})) as { pid: number; state: string };
  assert.notEqual(st.pid, process.pid, 'a separate daemon process');
  assert.equal(st.state, layout.dir);
});
