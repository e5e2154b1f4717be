/**
 * The IPC boundary (DESIGN.md safety property 3): every renderer message is parsed with zod against the
 * contract and its sender frame is checked; refused methods never reach the daemon; good calls are forwarded.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { ipcHandlers, REFUSED_METHODS, type IpcAnswer } from '../../electron/ipc.js';
import type { IpcSender } from '../../electron/platform.js';

const RENDERER = 'file:///opt/warden/dist/renderer/index.html';
const OURS = 7;

function setup() {
  const forwarded: { method: string; params: unknown }[] = [];
  const logged: string[] = [];
  const h = ipcHandlers({
    isOurWindow: (id) => id === OURS,
    rendererUrl: RENDERER,
    forward: async (method, params) => {
      forwarded.push({ method, params });
      if (method === 'holds.decide')
        throw Object.assign(new Error('no pending hold 1-1'), { code: 'no-such-hold' });
      return { answered: method };
    },
    status: () => 'connected',
    log: (l) => logged.push(l),
  });
  return { h, forwarded, logged };
}

const good: IpcSender = {
  webContentsId: OURS,
  frame: { url: `${RENDERER}#/inbox?compact=1`, isMainFrame: true },
};
const code = (a: unknown) => (a as IpcAnswer & { ok: false }).error?.code;

test('a valid call from our main frame is forwarded with the params as parsed (defaults applied)', async () => {
  const { h, forwarded } = setup();
  assert.deepEqual(await h.call(good, { method: 'runs.list', params: {} }), {
    ok: true,
    result: { answered: 'runs.list' },
  });
  await h.call(good, { method: 'holds.decide', params: { id: '1-1', decision: 'deny' } });
  assert.deepEqual(forwarded, [
    { method: 'runs.list', params: { limit: 50 } },
    { method: 'holds.decide', params: { id: '1-1', decision: 'deny', scope: 'once' } },
  ]);
});

test('a daemon error comes back as a value with its code', async () => {
  const { h } = setup();
  assert.deepEqual(await h.call(good, { method: 'holds.decide', params: { id: '1-1', decision: 'allow' } }), {
    ok: false,
    error: { code: 'no-such-hold', message: 'no pending hold 1-1' },
  });
});

test('unknown methods, malformed envelopes and bad params are rejected and never forwarded', async () => {
  const { h, forwarded, logged } = setup();
  const cases: [unknown, string][] = [
    [{ method: 'nope', params: {} }, 'unknown-method'],
    [{ method: '__proto__', params: {} }, 'unknown-method'],
    [{ method: 'toString', params: {} }, 'unknown-method'],
    ['runs.list', 'bad-request'],
    [null, 'bad-request'],
    [{ method: 'runs.list', params: {}, extra: 1 }, 'bad-request'],
    [{ method: 'x'.repeat(65), params: {} }, 'bad-request'],
    [{ method: 'runs.list', params: { limit: -1 } }, 'bad-params'],
    [{ method: 'runs.list', params: { limit: 5, sneaky: true } }, 'bad-params'],
    [{ method: 'holds.decide', params: { id: '1-1', decision: 'maybe' } }, 'bad-params'],
    [{ method: 'holds.decide', params: { id: '../x', decision: 'allow' } }, 'bad-params'],
    [{ method: 'rollback.apply', params: { run: 'first' } }, 'bad-params'],
  ];
  for (const [payload, want] of cases) {
    assert.equal(code(await h.call(good, payload)), want, JSON.stringify(payload));
  }
  assert.deepEqual(forwarded, []);
  assert.equal(logged.length, cases.length, 'every refusal is logged');
});

test('shutdown, run.start, run.finish (and events.subscribe) are refused even with valid params', async () => {
  const { h, forwarded } = setup();
  const valid: Record<string, unknown> = {
    shutdown: {},
    'run.start': { argv: ['sh'], cwd: '/', workspace: '/', home: '/', tmp: [], policies: [] },
    'run.finish': { run: 1, exitCode: 0, signal: null },
    'events.subscribe': {},
  };
  for (const m of ['shutdown', 'run.start', 'run.finish', 'events.subscribe']) {
    assert.ok(REFUSED_METHODS.has(m));
    assert.equal(code(await h.call(good, { method: m, params: valid[m] })), 'refused-method', m);
  }
  assert.deepEqual(forwarded, []);
});

test('only the main frame of our own window showing our renderer file may call', async () => {
  const { h, forwarded } = setup();
  const senders: IpcSender[] = [
    { webContentsId: 99, frame: good.frame }, // another window (e.g. a devtools or foreign webContents)
    { webContentsId: OURS, frame: null }, // frame gone
    { webContentsId: OURS, frame: { url: RENDERER, isMainFrame: false } }, // an iframe
    { webContentsId: OURS, frame: { url: 'https://evil.example/', isMainFrame: true } },
    { webContentsId: OURS, frame: { url: 'file:///tmp/evil/dist/renderer/index.html', isMainFrame: true } },
    { webContentsId: OURS, frame: { url: 'file:///opt/warden/dist/renderer/other.html', isMainFrame: true } },
    { webContentsId: OURS, frame: { url: 'data:text/html,<script>', isMainFrame: true } },
    { webContentsId: OURS, frame: { url: 'not a url', isMainFrame: true } },
  ];
  for (const s of senders) {
    assert.equal(
      code(await h.call(s, { method: 'runs.list', params: {} })),
      'ipc-forbidden',
      JSON.stringify(s),
    );
    assert.equal(code(await h.status(s, undefined)), 'ipc-forbidden');
  }
  assert.deepEqual(forwarded, []);
  assert.deepEqual(await h.status(good, undefined), { ok: true, result: 'connected' });
  assert.equal(code(await h.status(good, { x: 1 })), 'bad-request');
});
