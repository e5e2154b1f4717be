/**
 * The local HTTP API against a real server (fake daemon behind it): good requests are dispatched with
 * contract-parsed params; every kind of bad request gets its status and changes nothing; the token, Host
 * and Origin gates on TCP; no token on the unix socket (body limits: http-limits.test.ts).
 */
import { describe, test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { chmodSync, mkdtempSync, readFileSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { newApiToken, startHttpApi } from '../../core/api/http.js';
import { WardenError } from '../../core/util/errors.js';
import { call, rawTcp, startFixture, statusOf, type Fixture } from './http-util.js';

describe('HTTP API', () => {
  let f: Fixture;
  before(async () => {
    f = await startFixture();
  });
  after(async () => {
    await f.stop();
  });

  test('the unix socket is 0600 in a 0700 dir', () => {
    assert.equal(statSync(f.socketPath).mode & 0o777, 0o600);
    assert.equal(statSync(f.dir).mode & 0o777, 0o700);
  });

  test('a good request is dispatched with params parsed by the contract (defaults applied)', async () => {
    const a = await call(f, '/api/holds.decide', '{"id":"3-1","decision":"deny"}');
    assert.equal(a.status, 200);
    assert.equal(a.headers['content-type'], 'application/json; charset=utf-8');
    assert.deepEqual(a.json, {
      ok: true,
      result: { method: 'holds.decide', params: { id: '3-1', decision: 'deny', scope: 'once' } },
    });
    const b = await call(f, '/api/status', undefined, { verb: 'POST' });
    assert.equal(b.status, 200, 'an empty body means {}');
    assert.ok(f.calls.every((c) => c.valid));
  });

  test('health answers without a token', async () => {
    const a = await call(f, '/api/health', undefined, { noAuth: true });
    assert.deepEqual([a.status, a.json], [200, { ok: true }]);
    const b = await fetch(`http://127.0.0.1:${f.api.port}/api/health`);
    assert.equal(b.status, 200);
  });

  test('fetch with the bearer token works', async () => {
    const r = await fetch(`http://localhost:${f.api.port}/api/runs.list`, {
      method: 'POST',
      headers: { authorization: `Bearer ${f.token}`, 'content-type': 'application/json' },
      body: JSON.stringify({ limit: 3 }),
    });
    assert.equal(r.status, 200);
    assert.deepEqual(await r.json(), { ok: true, result: { method: 'runs.list', params: { limit: 3 } } });
  });

  test('error statuses: bad JSON, bad params, unknown method, wrong verb, media type', async () => {
    const n = f.calls.length;
    const cases: [string, string | undefined, Record<string, unknown>, number, string][] = [
      ['/api/holds.decide', '{"id":', {}, 400, 'bad-json'],
      ['/api/holds.decide', '\xff\xfe{}', {}, 400, 'bad-json'],
      ['/api/holds.decide', '{"id":"x","decision":"deny"}', {}, 400, 'bad-params'],
      ['/api/holds.decide', '{"id":"3-1","decision":"deny","extra":1}', {}, 400, 'bad-params'],
      ['/api/holds.decide', '[]', {}, 400, 'bad-params'],
      ['/api/holds.decide', 'null', {}, 400, 'bad-params'],
      ['/api/status', '{"__proto__":{"x":1}}', {}, 400, 'bad-params'],
      ['/api/nope', '{}', {}, 404, 'not-found'],
      ['/api/__proto__', '{}', {}, 404, 'not-found'],
      ['/api/constructor', '{}', {}, 404, 'not-found'],
      ['/api/shutdown', '{}', {}, 404, 'not-found'],
      ['/api/events.subscribe', '{}', {}, 404, 'not-found'],
      ['/elsewhere', '{}', {}, 404, 'not-found'],
      ['/api/status', undefined, { verb: 'GET' }, 405, 'bad-verb'],
      ['/api/status', '{}', { verb: 'PUT' }, 405, 'bad-verb'],
      ['/api/health', '{}', { verb: 'POST' }, 405, 'bad-verb'],
      ['/api/status', '{}', { headers: { 'content-type': 'text/plain' } }, 415, 'unsupported-media-type'],
      ['/api/status', 'a=b', { headers: { 'content-type': 'application/x-www-form-urlencoded' } }, 415, ''],
      ['/api/status', '{}', { headers: { 'content-type': 'application/json; charset=latin1' } }, 415, ''],
      ['/api/events', undefined, {}, 426, 'upgrade-required'],
    ];
    for (const [path, body, o, status, code] of cases) {
      const a = await call(f, path, body === undefined ? undefined : Buffer.from(body, 'latin1'), o);
      assert.equal(a.status, status, `${path} ${body}`);
      assert.equal(a.json?.ok, false);
      if (code) assert.equal(a.json?.error?.code, code, `${path} ${body}`);
    }
    const post405 = await call(f, '/api/status', undefined, { verb: 'DELETE' });
    assert.equal(post405.headers.allow, 'POST');
    assert.equal(f.calls.length, n, 'nothing was dispatched');
  });

  test('errors from dispatch: a WardenError keeps its code, anything else is a 500 without a stack', async () => {
    f.behaviour.fail = new WardenError('no-such-run', 'no run with id 9', 2);
    let a = await call(f, '/api/run.get', '{"run":9}');
    assert.equal(a.status, 404);
    assert.deepEqual(a.json?.error, { code: 'no-such-run', message: 'no run with id 9', exit: 2 });
    f.behaviour.fail = new WardenError('run-active', 'run 3 is still running', 2);
    a = await call(f, '/api/rollback.apply', '{"run":3}');
    assert.deepEqual([a.status, a.json?.error?.code], [400, 'run-active']);
    f.behaviour.fail = new WardenError('journal-busy', 'busy');
    a = await call(f, '/api/status', '{}');
    assert.equal(a.status, 409);
    f.behaviour.fail = new TypeError('secret internals at /home/x');
    a = await call(f, '/api/status', '{}');
    assert.equal(a.status, 500);
    assert.equal(a.json?.error?.code, 'internal');
    assert.doesNotMatch(JSON.stringify(a.json), /secret|at |\.js/);
    assert.ok(
      f.logs.some((l) => l.includes('secret internals')),
      'the fault is in the daemon log',
    );
    delete f.behaviour.fail;
  });

  test('TCP needs the token; a wrong or missing one is a 401 and dispatches nothing', async () => {
    const n = f.calls.length;
    for (const auth of [
      undefined,
      'Bearer nope',
      `Bearer ${f.token}x`,
      `Basic ${f.token}`,
      f.token,
      'Bearer ',
    ]) {
      const a = await call(f, '/api/status', '{}', {
        noAuth: true,
        headers: auth === undefined ? {} : { authorization: auth },
      });
      assert.equal(a.status, 401, String(auth));
      assert.equal(a.headers['www-authenticate'], 'Bearer realm="warden"');
    }
    const unknown = await call(f, '/api/nope', '{}', { noAuth: true });
    assert.equal(unknown.status, 401, 'routes are not revealed before authentication');
    const lower = await call(f, '/api/status', '{}', {
      noAuth: true,
      headers: { authorization: `bearer ${f.token}` },
    });
    assert.equal(lower.status, 200);
    assert.equal(f.calls.length, n + 1);
  });

  test('the unix socket needs no token', async () => {
    const a = await call(f, '/api/holds.list', '{"run":2}', { unix: true });
    assert.deepEqual(a.json, { ok: true, result: { method: 'holds.list', params: { run: 2 } } });
    const b = await call(f, '/api/shutdown', '{}', { unix: true });
    assert.equal(b.status, 404);
  });

  test('a wrong Host or a cross-site Origin is refused (DNS rebinding, browsers)', async () => {
    const n = f.calls.length;
    const p = f.api.port;
    for (const host of [
      'evil.example',
      `evil.example:${p}`,
      `127.0.0.1:${p + 1}`,
      '127.0.0.1',
      `[::1]:${p}`,
    ]) {
      const a = await call(f, '/api/status', '{}', { headers: { host } });
      assert.deepEqual([a.status, a.json?.error?.code], [403, 'forbidden-host'], host);
    }
    const h = await call(f, '/api/health', undefined, { headers: { host: 'rebound.example' } });
    assert.equal(h.status, 403);
    for (const origin of [
      'http://evil.example',
      'null',
      `https://127.0.0.1:${p}`,
      `http://127.0.0.1:${p + 1}`,
    ]) {
      const a = await call(f, '/api/status', '{}', { headers: { origin } });
      assert.deepEqual([a.status, a.json?.error?.code], [403, 'forbidden-origin'], origin);
    }
    for (const origin of [`http://127.0.0.1:${p}`, `http://localhost:${p}`]) {
      const a = await call(f, '/api/status', '{}', { headers: { origin, host: `localhost:${p}` } });
      assert.equal(a.status, 200, origin);
    }
    assert.equal(f.calls.length, n + 2);
  });

  test('CONNECT and garbage get a 4xx, not a dropped connection', async () => {
    const host = `Host: 127.0.0.1:${f.api.port}\r\n`;
    assert.equal(statusOf(await rawTcp(f.api.port, `CONNECT 127.0.0.1:22 HTTP/1.1\r\n${host}\r\n`)), 405);
    assert.equal(statusOf(await rawTcp(f.api.port, 'GARBAGE\r\n\r\n')), 400);
  });

  test('refuses to start with a weak token, a shared socket dir or a non-socket in the way', async () => {
    const base = { dispatch: async () => null, subscribe: () => () => {}, host: '127.0.0.1' as const };
    const dir = mkdtempSync(join(tmpdir(), 'warden-http-'));
    try {
      const socketPath = join(dir, 'api.sock');
      const log = () => {};
      await assert.rejects(startHttpApi({ ...base, socketPath, token: 'short', log }), /token/);
      writeFileSync(socketPath, 'precious');
      await assert.rejects(startHttpApi({ ...base, socketPath, token: newApiToken(), log }), /not a socket/);
      assert.equal(readFileSync(socketPath, 'utf8'), 'precious');
      chmodSync(dir, 0o755);
      await assert.rejects(startHttpApi({ ...base, socketPath, token: newApiToken(), log }), /0700/);
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });

  test('close stops both listeners and removes the socket file', async () => {
    const g = await startFixture();
    await g.api.close();
    await assert.rejects(call(g, '/api/health'));
    assert.throws(() => statSync(g.socketPath));
    await g.stop();
  });
});
