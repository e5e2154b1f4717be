/**
 * The WebSocket `/api/events` against a real server: pushes arrive (filtered by run, invalid ones dropped),
 * stop after close, the subscription is released; token / Host / Origin gates on TCP; a client that
 * talks is closed with 1008; a peer that stops answering pings is dropped.
 */
import { describe, test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { connect } from 'node:net';
import { setTimeout as sleep } from 'node:timers/promises';
import { WebSocket } from 'ws';
import type { Push } from '../../core/api/contract.js';
import { startFixture, type Fixture } from './http-util.js';

/** Opens a WebSocket and resolves once open, collecting text messages as parsed JSON. */
function open(url: string, opts: { protocols?: string[]; headers?: Record<string, string> } = {}) {
  const ws = new WebSocket(url, opts.protocols ?? [], { headers: opts.headers });
  const got: unknown[] = [];
  ws.on('message', (d) => got.push(JSON.parse(String(d))));
  const ready = new Promise<void>((resolve, reject) => {
    ws.once('open', () => resolve());
    ws.once('error', reject);
    ws.once('unexpected-response', (_req, res) => reject(new Error(`status ${res.statusCode}`)));
  });
  const closed = new Promise<number>((resolve) => ws.once('close', (code) => resolve(code)));
  return { ws, got, ready, closed };
}

async function until(cond: () => boolean, what: string): Promise<void> {
  for (let i = 0; i < 200 && !cond(); i++) await sleep(10);
  assert.ok(cond(), `timed out waiting for ${what}`);
}

const started = (run: number): Push => ({ type: 'run.started', run });

describe('HTTP API events (WebSocket)', () => {
  let f: Fixture;
  let base: string;
  before(async () => {
    f = await startFixture({ pingIntervalMs: 100 });
    base = `ws://127.0.0.1:${f.api.port}/api/events`;
  });
  after(async () => {
    await f.stop();
  });

  test('pushes arrive, invalid ones are dropped, and they stop after close', async () => {
    const c = open(base, { protocols: ['warden', `warden.${f.token}`] });
    await c.ready;
    assert.equal(c.ws.protocol, 'warden', 'the token is not echoed back when plain `warden` is offered');
    await until(() => f.listeners.size === 1, 'the subscription');
    f.emit(started(1));
    f.emit({ type: 'run.started', run: 'x' } as unknown as Push);
    f.emit({ type: 'hold.resolved', id: '1-1', decision: 'allow', by: 'person' });
    await until(() => c.got.length === 2, 'two pushes');
    assert.deepEqual(c.got, [
      started(1),
      { type: 'hold.resolved', id: '1-1', decision: 'allow', by: 'person' },
    ]);
    assert.ok(f.logs.some((l) => l.includes('dropped a push')));
    c.ws.close();
    assert.equal(await c.closed, 1005);
    await until(() => f.listeners.size === 0, 'the unsubscription');
    f.emit(started(2));
    await sleep(50);
    assert.equal(c.got.length, 2);
  });

  test('?run=N filters; a bad run is a 400', async () => {
    const c = open(`${base}?run=7&token=${f.token}`);
    await c.ready;
    await until(() => f.listeners.size === 1, 'the subscription');
    f.emit(started(6));
    f.emit(started(7));
    await until(() => c.got.length === 1, 'one push');
    await sleep(30);
    assert.deepEqual(c.got, [started(7)]);
    c.ws.close();
    await c.closed;
    for (const run of ['0', '-1', 'x', '1.5', '99999999999999999999']) {
      await assert.rejects(open(`${base}?run=${run}&token=${f.token}`).ready, /status 400/, run);
    }
  });

  test('the token can come as warden.<token>, ?token= or a bearer header; else 401', async () => {
    const a = open(base, { protocols: [`warden.${f.token}`] });
    await a.ready;
    const b = open(base, { headers: { authorization: `Bearer ${f.token}` } });
    await b.ready;
    a.ws.close();
    b.ws.close();
    await Promise.all([a.closed, b.closed]);
    await assert.rejects(open(base).ready, /status 401/);
    await assert.rejects(open(base, { protocols: ['warden.wrong'] }).ready, /status 401/);
    await assert.rejects(open(`${base}?token=${f.token}x`).ready, /status 401/);
  });

  test('a wrong Host or Origin is refused; other paths are 404', async () => {
    const q = `?token=${f.token}`;
    await assert.rejects(open(base + q, { headers: { host: 'evil.example' } }).ready, /status 403/);
    await assert.rejects(open(base + q, { headers: { origin: 'http://evil.example' } }).ready, /status 403/);
    await assert.rejects(open(`ws://127.0.0.1:${f.api.port}/api/status${q}`).ready, /status 404/);
    const ok = open(base + q, { headers: { origin: `http://localhost:${f.api.port}` } });
    await ok.ready;
    ok.ws.close();
    await ok.closed;
    assert.equal(f.listeners.size, 0);
  });

  test('the unix socket needs no token', async () => {
    const c = open(`ws+unix://${f.socketPath}:/api/events`);
    await c.ready;
    await until(() => f.listeners.size === 1, 'the subscription');
    f.emit(started(3));
    await until(() => c.got.length === 1, 'a push');
    c.ws.close();
    await c.closed;
  });

  test('a client that sends data is closed with 1008', async () => {
    const c = open(base, { protocols: [`warden.${f.token}`] });
    await c.ready;
    c.ws.send('hello');
    assert.equal(await c.closed, 1008);
    await until(() => f.listeners.size === 0, 'the unsubscription');
  });

  test('pings keep a live client; a silent peer is dropped', async () => {
    const c = open(base, { protocols: [`warden.${f.token}`] });
    let pings = 0;
    c.ws.on('ping', () => pings++);
    await c.ready;
    await sleep(350);
    assert.ok(pings >= 2, `pings: ${pings}`);
    assert.equal(c.ws.readyState, WebSocket.OPEN);
    c.ws.close();
    await c.closed;

    // a raw peer that completes the handshake and then never answers a ping
    const s = connect(f.api.port, '127.0.0.1');
    s.write(
      `GET /api/events?token=${f.token} HTTP/1.1\r\nHost: 127.0.0.1:${f.api.port}\r\nUpgrade: websocket\r\n` +
        'Connection: Upgrade\r\nSec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\nSec-WebSocket-Version: 13\r\n\r\n',
    );
    let head = '';
    s.on('data', (d) => (head += d.toString('latin1')));
    const t0 = Date.now();
    await new Promise((r) => s.once('close', r));
    assert.match(head, /^HTTP\/1\.1 101 /);
    assert.ok(Date.now() - t0 < 2000);
    await until(() => f.listeners.size === 0, 'the unsubscription');
  });

  test('closing the server closes clients with 1001', async () => {
    const g = await startFixture();
    const c = open(`ws://127.0.0.1:${g.api.port}/api/events?token=${g.token}`);
    await c.ready;
    await g.stop();
    assert.equal(await c.closed, 1001);
    assert.equal(g.listeners.size, 0);
  });
});
