/**
 * Request-body limits of the local HTTP API against a real server: a body over the cap is refused with 413
 * by its Content-Length before it is read, or while streaming as soon as it passes the cap, and the
 * server stops reading a client that keeps sending (nothing is buffered beyond the cap, nothing dispatched).
 */
import { describe, test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { connect } from 'node:net';
import { call, rawTcp, startFixture, statusOf, type Fixture } from './http-util.js';
describe('HTTP API body limits', () => {
  let f: Fixture;
  before(async () => {
    f = await startFixture();
  });
  after(async () => {
    await f.stop();
  });

  test('a body over the limit by Content-Length is refused before it is read', async () => {
    const raw = await rawTcp(
      f.api.port,
      `POST /api/status HTTP/1.1\r\nHost: 127.0.0.1:${f.api.port}\r\nAuthorization: Bearer ${f.token}\r\n` +
        `Content-Type: application/json\r\nContent-Length: ${10 * 2 ** 30}\r\n\r\n{`,
      { end: false },
    );
    assert.equal(statusOf(raw), 413);
    assert.match(raw, /connection: close/i);
  });

  test('a chunked body is refused as soon as it passes the limit, before it ends', async () => {
    const n = f.calls.length;
    const chunk = Buffer.alloc(64 * 1024, 0x20);
    const parts: Buffer[] = [
      Buffer.from(
        `POST /api/status HTTP/1.1\r\nHost: 127.0.0.1:${f.api.port}\r\nAuthorization: Bearer ${f.token}\r\n` +
          'Content-Type: application/json\r\nTransfer-Encoding: chunked\r\n\r\n',
      ),
    ];
    for (let i = 0; i < 17; i++)
      parts.push(Buffer.from(`${chunk.length.toString(16)}\r\n`), chunk, Buffer.from('\r\n'));
    // never sends the last chunk: the answer must come while the body is still open
    const raw = await rawTcp(f.api.port, Buffer.concat(parts), { end: false });
    assert.equal(statusOf(raw), 413);
    assert.equal(f.calls.length, n);
  });

  test('a client streaming a huge body is cut off, not buffered', async () => {
    const sent = await new Promise<number>((resolve) => {
      const s = connect(f.api.port, '127.0.0.1');
      let total = 0;
      let done = false;
      const finish = () => {
        if (!done) resolve(total);
        done = true;
        s.destroy();
      };
      s.on('data', finish);
      s.on('error', finish);
      s.on('close', finish);
      s.write(
        `POST /api/status HTTP/1.1\r\nHost: 127.0.0.1:${f.api.port}\r\nAuthorization: Bearer ${f.token}\r\n` +
          'Content-Type: application/json\r\nTransfer-Encoding: chunked\r\n\r\n',
      );
      const chunk = Buffer.concat([
        Buffer.from('100000\r\n'),
        Buffer.alloc(0x100000, 0x20),
        Buffer.from('\r\n'),
      ]);
      const pump = () => {
        while (!done && total < 512 * 2 ** 20) {
          total += chunk.length;
          if (!s.write(chunk)) return void s.once('drain', pump);
        }
      };
      pump();
    });
    assert.ok(sent < 128 * 2 ** 20, `the server kept reading: ${sent} bytes went in`);
    const health = await call(f, '/api/health');
    assert.equal(health.status, 200);
  });

  test('a smaller limit is honoured', async () => {
    const g = await startFixture({ maxBodyBytes: 16 });
    try {
      assert.equal((await call(g, '/api/runs.list', '{"limit":1}')).status, 200);
      assert.equal((await call(g, '/api/runs.list', '{"limit":1}          ')).status, 413);
      assert.equal((await call(g, '/api/runs.list', '{"limit":1}          ', { unix: true })).status, 413);
    } finally {
      await g.stop();
    }
  });
});
