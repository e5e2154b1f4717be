/**
 * Fuzzes the HTTP API's parsers with a seeded PRNG and bounded time (WARDEN_FUZZ_SEED to replay): random
 * and mutated JSON bodies, headers, and raw request bytes and paths. The server never crashes, answers
 * every request 2xx/4xx, and `dispatch` only ever sees params that pass the method's contract schema.
 */
import { describe, test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { Agent } from 'node:http';
import { call, prng, startFixture, statusOf, type Fixture } from './http-util.js';
import { SEED, body, expected, int, mutateText, names, pick, pool, raw } from './http-fuzz-gen.js';
import { HIDDEN_METHODS } from '../../core/api/http-request.js';

describe('HTTP API fuzz', () => {
  let f: Fixture;
  const agent = new Agent({ keepAlive: true, maxSockets: 8 });
  before(async () => {
    f = await startFixture({ maxBodyBytes: 64 * 1024 });
  });
  after(async () => {
    agent.destroy();
    await f.stop();
  });

  test(`bodies (seed ${SEED})`, async (t) => {
    const r = prng(SEED);
    const done = await pool(3000, 8, async (i) => {
      const method = r() < 0.95 ? pick(r, names) : pick(r, ['nope', '__proto__', 'toString', 'status/', '']);
      const b = r() < 0.03 ? Buffer.alloc(0) : body(r, method);
      const before = f.calls.length;
      const a = await call(f, `/api/${method}`, b, { agent, unix: r() < 0.3 });
      const want = b.length > 64 * 1024 ? 413 : expected(method, b);
      assert.equal(a.status, want, `#${i} ${method} ${b.toString('latin1').slice(0, 200)}`);
      assert.equal(a.json?.ok, want === 200);
      if (want === 200) assert.ok(f.calls.length > before);
      return a.status;
    });
    t.diagnostic(done);
    assert.ok(
      f.calls.every((c) => c.valid && !HIDDEN_METHODS.has(c.method)),
      'dispatch saw invalid params',
    );
  });

  test(`headers (seed ${SEED})`, async (t) => {
    const r = prng(SEED + 1);
    assert.ok(f.calls.every((c) => c.valid));
    f.calls.length = 0; // calls below are told apart by their run number
    const p = f.api.port;
    const mut = (s: string) => {
      const i = int(r, s.length + 1);
      const c = String.fromCharCode(0x20 + int(r, 95));
      return pick(r, [s.slice(0, i) + c + s.slice(i), s.slice(0, i) + s.slice(i + 1), s.toUpperCase()]);
    };
    const goodHost = [`127.0.0.1:${p}`, `localhost:${p}`];
    const done = await pool(1500, 8, async (i) => {
      const headers: Record<string, string> = {};
      const host = r() < 0.7 ? pick(r, goodHost) : mut(pick(r, goodHost));
      headers.host = host;
      const origin =
        r() < 0.4 ? undefined : r() < 0.6 ? `http://${pick(r, goodHost)}` : mut(`http://${host}`);
      if (origin !== undefined) headers.origin = origin;
      const auth = r() < 0.7 ? `Bearer ${f.token}` : mut(`Bearer ${f.token}`);
      headers.authorization = auth;
      headers['content-type'] = r() < 0.7 ? 'application/json' : mut('application/json; charset=utf-8');
      const verb = r() < 0.8 ? 'POST' : pick(r, ['GET', 'PUT', 'DELETE', 'PATCH', 'OPTIONS', 'HEAD']);
      const path = r() < 0.8 ? '/api/holds.list' : mut('/api/holds.list').replace(/ /g, '%20');
      const a = await call(f, path, `{"run":${i + 1}}`, { agent, headers, noAuth: true, verb });
      const mine = f.calls.some(
        (c) => c.method === 'holds.list' && (c.params as { run?: number }).run === i + 1,
      );
      assert.ok(a.status >= 200 && a.status < 500, `#${i} ${a.status} ${JSON.stringify(headers)}`);
      if (mine) {
        // header values arrive with surrounding whitespace trimmed (RFC 9110 OWS)
        const h = host.trim().toLowerCase();
        const o = origin?.trim().toLowerCase();
        assert.ok(goodHost.includes(h), `dispatched with Host ${host}`);
        assert.ok(
          o === undefined || goodHost.some((g) => o === `http://${g}`),
          `dispatched with Origin ${origin}`,
        );
        assert.match(auth.trim(), new RegExp(`^bearer +${f.token}$`, 'i'), `dispatched with ${auth}`);
      }
      return a.status;
    });
    t.diagnostic(done);
  });

  test(`raw requests and paths (seed ${SEED})`, async (t) => {
    const r = prng(SEED + 2);
    const p = f.api.port;
    const pathPool = [
      '/api/status',
      '/api/health',
      '/api/events',
      '/',
      '*',
      '//api/status',
      '/api/../api/status',
    ];
    pathPool.push(
      '/api/%73tatus',
      '/api/status?x=1',
      '/api/holds.decide#x',
      `/api/${'a'.repeat(9000)}`,
      '/api/\u00e9',
    );
    const done = await pool(1200, 16, async (i) => {
      const unix = r() < 0.5;
      let path = pick(r, pathPool);
      if (r() < 0.5)
        path =
          path.slice(0, int(r, path.length + 1)) +
          String.fromCharCode(int(r, 256)) +
          path.slice(int(r, path.length));
      const verb = pick(r, ['GET', 'POST', 'POST', 'PUT', 'get', 'BREW', 'CONNECT']);
      const version = r() < 0.9 ? 'HTTP/1.1' : pick(r, ['HTTP/1.0', 'HTTP/2.0', 'HTTP/1.x', '']);
      const b = body(r, 'holds.decide');
      let headers = `Host: 127.0.0.1:${p}\r\nAuthorization: Bearer ${f.token}\r\nContent-Type: application/json\r\n`;
      headers +=
        r() < 0.8
          ? `Content-Length: ${b.length}\r\n`
          : `Content-Length: ${pick(r, ['-1', '1e3', 'x', '0', ''])}\r\n`;
      if (r() < 0.3) headers = mutateText(r, headers).toString('latin1');
      if (r() < 0.1) headers += 'Transfer-Encoding: chunked\r\n';
      const head = Buffer.from(`${verb} ${path} ${version}\r\n${headers}\r\n`, 'latin1');
      const text = await raw(unix ? { path: f.socketPath } : { port: p }, Buffer.concat([head, b]));
      const status = statusOf(text);
      assert.ok(
        status >= 200 && status < 500,
        `#${i} answered ${JSON.stringify(text.slice(0, 80))} to ${JSON.stringify(head.toString('latin1').slice(0, 300))}`,
      );
      return status;
    });
    t.diagnostic(done);
    assert.ok(
      f.calls.every((c) => c.valid && !HIDDEN_METHODS.has(c.method)),
      'dispatch saw invalid params',
    );
    assert.equal((await call(f, '/api/health')).status, 200, 'the server still answers');
    assert.ok(!f.logs.some((l) => l.includes('internal error')), f.logs.join('\n'));
  });
});
