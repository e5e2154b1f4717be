/**
 * The UI's static files served by the real HTTP API server (`startHttpApi`) from real files in a temp dir:
 * content types, security headers, caching, no token for the files but still for `/api/*`, the Host check,
 * traversal attempts (raw, percent-encoded, encoded slashes, NUL, absolute, symlinks out), and the page
 * answered when the UI is not built.
 */
import { describe, test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { connect } from 'node:net';
import { mkdirSync, mkdtempSync, rmSync, symlinkSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { newApiToken, startHttpApi, type HttpApi } from '../../core/api/http.js';
import { staticTarget, uiCsp } from '../../core/api/http-static.js';

interface Raw {
  status: number;
  headers: Record<string, string>;
  body: Buffer;
}

/** Sends `head` verbatim (no client-side path normalisation) and parses the answer. */
function raw(port: number, head: string): Promise<Raw> {
  return new Promise((resolve, reject) => {
    const s = connect({ host: '127.0.0.1', port });
    const chunks: Buffer[] = [];
    s.on('data', (c: Buffer) => chunks.push(c));
    s.on('error', reject);
    s.on('end', () => {
      const all = Buffer.concat(chunks);
      const split = all.indexOf('\r\n\r\n');
      const lines = all.subarray(0, split).toString('latin1').split('\r\n');
      const headers: Record<string, string> = {};
      for (const l of lines.slice(1)) {
        const i = l.indexOf(':');
        headers[l.slice(0, i).toLowerCase()] = l.slice(i + 1).trim();
      }
      resolve({ status: Number(lines[0]?.split(' ')[1]), headers, body: all.subarray(split + 4) });
    });
    s.write(head);
  });
}

describe('HTTP API: static UI files', () => {
  let dir: string;
  let root: string;
  let api: HttpApi;
  let bare: HttpApi;
  let token: string;
  const calls: string[] = [];
  const secret = 'SECRET-OUTSIDE-THE-ROOT';

  const get = (path: string, o: { port?: number; host?: string; verb?: string; extra?: string } = {}) => {
    const port = o.port ?? api.port;
    return raw(
      port,
      `${o.verb ?? 'GET'} ${path} HTTP/1.1\r\nHost: ${o.host ?? `127.0.0.1:${port}`}\r\n${o.extra ?? ''}Connection: close\r\n\r\n`,
    );
  };

  before(async () => {
    dir = mkdtempSync(join(tmpdir(), 'warden-static-'));
    root = join(dir, 'renderer');
    mkdirSync(join(root, 'assets'), { recursive: true });
    writeFileSync(
      join(root, 'index.html'),
      '<!doctype html><title>Warden</title><script src="/assets/app-1.js"></script>',
    );
    writeFileSync(join(root, 'assets', 'app-1.js'), 'console.log("app")');
    writeFileSync(join(root, 'assets', 'app-1.css'), 'body{}');
    writeFileSync(join(root, 'assets', 'logo.svg'), '<svg xmlns="http://www.w3.org/2000/svg"/>');
    writeFileSync(join(root, 'assets', 'font.woff2'), Buffer.from([0x77, 0x4f, 0x46, 0x32]));
    writeFileSync(join(root, 'assets', 'blob.xyz'), 'opaque');
    writeFileSync(join(root, 'assets', 'a b.png'), Buffer.from([0x89, 0x50, 0x4e, 0x47]));
    writeFileSync(join(root, '.hidden'), 'hidden');
    writeFileSync(join(dir, 'secret.txt'), secret);
    symlinkSync(join(dir, 'secret.txt'), join(root, 'assets', 'link.txt'));
    symlinkSync(dir, join(root, 'up'));
    token = newApiToken();
    const common = {
      dispatch: async (m: string) => {
        calls.push(m);
        return { m };
      },
      subscribe: () => () => {},
      host: '127.0.0.1' as const,
      port: 0,
      token,
      log: () => {},
    };
    api = await startHttpApi({ ...common, socketPath: join(dir, 'api.sock'), staticRoot: root });
    bare = await startHttpApi({
      ...common,
      socketPath: join(dir, 'bare.sock'),
      staticRoot: join(dir, 'none'),
    });
  });
  after(async () => {
    await api.close();
    await bare.close();
    rmSync(dir, { recursive: true, force: true });
  });

  test('/ is index.html, without a token, never cached, with the strict headers', async () => {
    const r = await get('/');
    assert.equal(r.status, 200);
    assert.equal(r.headers['content-type'], 'text/html; charset=utf-8');
    assert.match(r.body.toString(), /<title>Warden<\/title>/);
    assert.equal(r.headers['cache-control'], 'no-store');
    assert.equal(
      r.headers['content-security-policy'],
      `default-src 'none'; script-src 'self'; style-src 'self'; img-src 'self' data:; font-src 'self'; connect-src 'self' ws://127.0.0.1:${api.port} ws://localhost:${api.port}; base-uri 'none'; form-action 'none'; frame-src 'none'; object-src 'none'; frame-ancestors 'none'`,
    );
    assert.equal(r.headers['content-security-policy'], uiCsp(api.port));
    assert.equal(r.headers['x-content-type-options'], 'nosniff');
    assert.equal(r.headers['referrer-policy'], 'no-referrer');
    const q = await get('/index.html?x=1');
    assert.equal(q.status, 200);
    assert.equal(q.headers['cache-control'], 'no-store');
  });

  test('content types by extension; assets are cacheable; HEAD has no body', async () => {
    const cases: [string, string][] = [
      ['/assets/app-1.js', 'text/javascript; charset=utf-8'],
      ['/assets/app-1.css', 'text/css; charset=utf-8'],
      ['/assets/logo.svg', 'image/svg+xml'],
      ['/assets/font.woff2', 'font/woff2'],
      ['/assets/blob.xyz', 'application/octet-stream'],
      ['/assets/a%20b.png', 'image/png'],
    ];
    for (const [path, type] of cases) {
      const r = await get(path);
      assert.equal(r.status, 200, path);
      assert.equal(r.headers['content-type'], type, path);
      assert.equal(r.headers['x-content-type-options'], 'nosniff', path);
      assert.equal(r.headers['content-security-policy'], uiCsp(api.port), path);
      assert.match(r.headers['cache-control'] ?? '', /immutable/, path);
    }
    const h = await get('/assets/app-1.js', { verb: 'HEAD' });
    assert.equal(h.status, 200);
    assert.equal(h.headers['content-length'], String('console.log("app")'.length));
    assert.equal(h.body.length, 0);
  });

  test('traversal attempts never leave the root: 400 or 404, never the secret', async () => {
    const attempts = [
      '/../secret.txt',
      '/assets/../../secret.txt',
      '/%2e%2e/secret.txt',
      '/%2E%2E/secret.txt',
      '/assets/%2e%2e/%2e%2e/secret.txt',
      '/..%2fsecret.txt',
      '/assets%2f..%2f..%2fsecret.txt',
      '/%2e%2e%2fsecret.txt',
      '/..%5csecret.txt',
      '/..\\secret.txt',
      '/index.html%00.png',
      '/assets/app-1.js%00',
      '//etc/passwd',
      `/${dir}/secret.txt`,
      '/%2Fetc%2Fpasswd',
      '/etc/passwd',
      '/assets/link.txt',
      '/up/secret.txt',
      '/.hidden',
      '/assets/%ff',
      '/assets/%zz',
      '/./index.html',
      '/assets/.',
    ];
    for (const path of attempts) {
      const r = await get(path);
      assert.ok([400, 404].includes(r.status), `${path} answered ${r.status}`);
      assert.ok(!r.body.toString('latin1').includes(secret), `${path} leaked the file outside`);
      assert.equal(r.headers['x-content-type-options'], 'nosniff', path);
    }
    // absolute-form request targets are not origin-form: not a file, so the API's token gate answers
    const abs = await get(`http://127.0.0.1:${api.port}/../secret.txt`);
    assert.ok([400, 401, 404].includes(abs.status), `absolute-form answered ${abs.status}`);
    assert.ok(!abs.body.toString('latin1').includes(secret));
  });

  test('staticTarget decodes per segment and refuses dot segments and encoded separators', () => {
    assert.deepEqual(staticTarget('/'), { kind: 'file', rel: 'index.html' });
    assert.deepEqual(staticTarget('/assets/x.js'), { kind: 'file', rel: 'assets/x.js' });
    assert.deepEqual(staticTarget('/assets/'), { kind: 'file', rel: 'assets/index.html' });
    for (const p of ['/..', '/a/../b', '/%2e%2e', '/a%2fb', '/a%5cb', '/a%00', '/a//b', '/%e0%a4%a'])
      assert.equal(staticTarget(p).kind, 'bad', p);
  });

  test('the files need no token, /api/* still does', async () => {
    assert.equal((await get('/')).status, 200);
    const n = calls.length;
    const noTok = await raw(
      api.port,
      `POST /api/status HTTP/1.1\r\nHost: 127.0.0.1:${api.port}\r\nContent-Type: application/json\r\nContent-Length: 2\r\nConnection: close\r\n\r\n{}`,
    );
    assert.equal(noTok.status, 401);
    const wrong = await raw(
      api.port,
      `POST /api/status HTTP/1.1\r\nHost: 127.0.0.1:${api.port}\r\nAuthorization: Bearer ${'x'.repeat(43)}\r\nContent-Type: application/json\r\nContent-Length: 2\r\nConnection: close\r\n\r\n{}`,
    );
    assert.equal(wrong.status, 401);
    assert.equal(calls.length, n, 'nothing dispatched without the token');
    // a GET under /api/ is not a static file: it needs the token too
    assert.equal((await get('/api/runs.list')).status, 401);
    assert.equal((await get('/api/index.html')).status, 401);
    const ok = await raw(
      api.port,
      `POST /api/status HTTP/1.1\r\nHost: 127.0.0.1:${api.port}\r\nAuthorization: Bearer ${token}\r\nContent-Type: application/json\r\nContent-Length: 2\r\nConnection: close\r\n\r\n{}`,
    );
    assert.equal(ok.status, 200);
    assert.equal(calls.length, n + 1);
  });

  test('the Host check applies to the files (DNS rebinding), and cross-site Origins are refused', async () => {
    assert.equal((await get('/', { host: `evil.example:${api.port}` })).status, 403);
    assert.equal((await get('/assets/app-1.js', { host: 'localhost' })).status, 403);
    assert.equal((await get('/', { host: `localhost:${api.port}` })).status, 200);
    const xs = await get('/assets/app-1.js', { extra: 'Origin: http://evil.example\r\n' });
    assert.equal(xs.status, 403);
    const same = await get('/assets/app-1.js', { extra: `Origin: http://127.0.0.1:${api.port}\r\n` });
    assert.equal(same.status, 200);
  });

  test('other verbs outside /api/ are not served as files', async () => {
    const r = await raw(
      api.port,
      `POST /index.html HTTP/1.1\r\nHost: 127.0.0.1:${api.port}\r\nAuthorization: Bearer ${token}\r\nContent-Length: 0\r\nConnection: close\r\n\r\n`,
    );
    assert.equal(r.status, 404);
  });

  test('the unix socket serves no files', async () => {
    const r = await new Promise<Raw>((resolve, reject) => {
      const s = connect(join(dir, 'api.sock'));
      const chunks: Buffer[] = [];
      s.on('data', (c: Buffer) => chunks.push(c));
      s.on('error', reject);
      s.on('end', () => {
        const t = Buffer.concat(chunks).toString('latin1');
        resolve({ status: Number(t.split(' ')[1]), headers: {}, body: Buffer.alloc(0) });
      });
      s.write('GET / HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n');
    });
    assert.equal(r.status, 404);
  });

  test('without a built UI, / explains how to build it; other files are 404', async () => {
    const r = await get('/', { port: bare.port });
    assert.equal(r.status, 200);
    assert.equal(r.headers['content-type'], 'text/html; charset=utf-8');
    assert.match(r.body.toString(), /npm run build:renderer/);
    assert.equal(r.headers['cache-control'], 'no-store');
    assert.equal(r.headers['content-security-policy'], uiCsp(bare.port));
    assert.equal((await get('/assets/app-1.js', { port: bare.port })).status, 404);
  });
});
