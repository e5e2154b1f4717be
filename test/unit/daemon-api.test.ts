/**
 * The daemon's socket API against a real daemon (in-process) and a real SQLite journal: good requests work,
 * malformed, oversize or ill-typed ones get a clear error and change no state.
 */
import { describe, test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { connect } from 'node:net';
import { mkdtempSync, rmSync, statSync, readFileSync } from 'node:fs';
import { request as httpRequest } from 'node:http';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { startDaemon } from '../../core/daemon/server.js';
import { DaemonClient } from '../../core/api/client.js';
import { ensureStateDir, type StateLayout } from '../../core/util/paths.js';
import { MAX_LINE_BYTES } from '../../core/api/contract.js';

/** Sends raw bytes on a fresh connection and collects the answer lines until `n` arrived. */
function raw(socket: string, payload: string | Buffer, n = 1): Promise<Record<string, unknown>[]> {
  return new Promise((resolve, reject) => {
    const s = connect(socket);
    let buf = '';
    const timer = setTimeout(() => reject(new Error(`no answer; got ${JSON.stringify(buf)}`)), 5000);
    s.on('data', (d) => {
      buf += d;
      const lines = buf.split('\n').filter(Boolean);
      if (lines.length >= n) {
        clearTimeout(timer);
        s.destroy();
        resolve(lines.map((l) => JSON.parse(l)));
      }
    });
    s.on('error', reject);
    s.write(payload);
  });
}

describe('daemon API', () => {
  let layout: StateLayout;
  let stop: () => Promise<void>;
  before(async () => {
    layout = ensureStateDir(mkdtempSync(join(tmpdir(), 'warden-api-')));
    ({ stop } = await startDaemon(layout, { idleExitSec: 0, log: () => {} }));
  });
  after(async () => {
    await stop();
    rmSync(layout.dir, { recursive: true, force: true });
  });

  test('the socket is only accessible to its owner', () => {
    assert.equal(statSync(layout.socket).mode & 0o777, 0o600);
    assert.equal(statSync(layout.dir).mode & 0o777, 0o700);
  });

  test('a well-formed request is answered', async () => {
    const c = await DaemonClient.connect(layout.socket);
    const runs = await c.call('runs.list', { limit: 5 });
    assert.deepEqual(runs, []);
    const st = (await c.call('status', {})) as { pid: number };
    assert.equal(st.pid, process.pid);
    c.close();
  });

  test('malformed JSON, unknown methods, bad params and oversize lines are rejected clearly', async () => {
    const [a] = await raw(layout.socket, '{not json\n');
    assert.equal((a!.error as { code: string }).code, 'bad-json');
    const [b] = await raw(layout.socket, JSON.stringify({ id: 3, method: 'runs.drop', params: {} }) + '\n');
    assert.equal((b!.error as { code: string }).code, 'unknown-method');
    const [c] = await raw(
      layout.socket,
      JSON.stringify({ id: 4, method: 'runs.list', params: { limit: 'all' } }) + '\n',
    );
    assert.equal((c!.error as { code: string }).code, 'bad-params');
    assert.match((c!.error as { message: string }).message, /limit/);
    const [d] = await raw(
      layout.socket,
      JSON.stringify({ id: 5, method: 'run.get', params: { run: 999 } }) + '\n',
    );
    assert.equal((d!.error as { code: string }).code, 'no-such-run');
    const [e] = await raw(layout.socket, Buffer.alloc(MAX_LINE_BYTES + 10, 'x'));
    assert.equal((e!.error as { code: string }).code, 'too-large');
    const [f] = await raw(
      layout.socket,
      JSON.stringify({
        id: 6,
        method: 'run.start',
        params: { argv: [], cwd: 'relative', workspace: '/', home: '/', tmp: [], policies: [] },
      }) + '\n',
    );
    assert.equal((f!.error as { code: string }).code, 'bad-params');
    // nothing of that changed state
    const cl = await DaemonClient.connect(layout.socket);
    assert.deepEqual(await cl.call('runs.list', { limit: 5 }), []);
    cl.close();
  });

  test('the HTTP API is up with a token on 127.0.0.1 and without one on its 0600 unix socket', async () => {
    const api = JSON.parse(readFileSync(layout.apiJson, 'utf8')) as { port: number; token: string };
    assert.equal(statSync(layout.apiJson).mode & 0o777, 0o600);
    const url = `http://127.0.0.1:${api.port}/api/runs.list`;
    const body = JSON.stringify({ limit: 2 });
    const headers = { 'content-type': 'application/json' };
    const noToken = await fetch(url, { method: 'POST', body, headers });
    assert.equal(noToken.status, 401);
    const ok = await fetch(url, {
      method: 'POST',
      body,
      headers: { ...headers, authorization: `Bearer ${api.token}` },
    });
    assert.equal(ok.status, 200);
    assert.deepEqual(await ok.json(), { ok: true, result: [] });
    const viaSocket = await new Promise<{ status: number; text: string }>((resolve, reject) => {
      const req = httpRequest(
        {
          socketPath: layout.apiSocket,
          path: '/api/holds.list',
          method: 'POST',
          headers: { ...headers, host: 'localhost' },
        },
        (res) => {
          let text = '';
          res.on('data', (d) => (text += d));
          res.on('end', () => resolve({ status: res.statusCode ?? 0, text }));
        },
      );
      req.on('error', reject);
      req.end('{}');
    });
    assert.equal(viaSocket.status, 200, viaSocket.text);
    assert.deepEqual(JSON.parse(viaSocket.text), { ok: true, result: [] });
    assert.equal(statSync(layout.apiSocket).mode & 0o777, 0o600);
  });

  test('random and mutated request lines never crash the daemon', async () => {
    const good = JSON.stringify({ id: 1, method: 'runs.list', params: { limit: 3 } });
    let seed = 12345;
    const rnd = () => ((seed = (seed * 1103515245 + 12345) & 0x7fffffff), seed);
    const lines: string[] = [];
    for (let i = 0; i < 300; i++) {
      const chars = [...good];
      for (let k = 0; k < 1 + (rnd() % 4); k++)
        chars[rnd() % chars.length] = String.fromCharCode(rnd() % 128);
      lines.push(chars.join('').replace(/\n/g, ' '));
    }
    const answers = await raw(layout.socket, lines.join('\n') + '\n', lines.length);
    assert.equal(answers.length, lines.length, 'every line got exactly one answer');
    const c = await DaemonClient.connect(layout.socket);
    assert.deepEqual(
      await c.call('runs.list', { limit: 5 }),
      [],
      'daemon still serves and state is unchanged',
    );
    c.close();
  });
});
