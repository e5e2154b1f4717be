/**
 * The egress proxy's request parsing under malformed and oversize input, against the real daemon serving a
 * live isolated run (its per-run socket `<state>/net/<run>.sock`): handcrafted bad requests get the exact clean
 * status; seeded random mutations of good requests get an HTTP error status or a close, never a hang; afterwards
 * the same daemon process is alive and still proxies a good request.
 */
import { describe, test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { existsSync, readFileSync, readdirSync, writeFileSync } from 'node:fs';
import net from 'node:net';
import { join } from 'node:path';
import { makeSandbox, destroySandbox, wardenAsync, warden, type Sandbox } from '../helpers/warden.js';
import { netnsProblem } from '../../core/net/netns.js';
import { prng, statusOf } from '../unit/http-util.js';
import { startOrigin, writeHostOverrides, type TestServer } from './servers.js';

const problem = netnsProblem();
const SEED = Number(process.env.WARDEN_FUZZ_SEED ?? 20261124);
const BUDGET_MS = 8000;

/**
 * Writes `payload` to the unix socket (then half-closes when `end`) and resolves with what came back by close
 * (or by `waitMs`).
 */
function rawUnix(
  path: string,
  payload: Buffer | string,
  waitMs = 3000,
  end = false,
): Promise<{ text: string; closed: boolean }> {
  return new Promise((resolve) => {
    const s = net.connect(path);
    const chunks: Buffer[] = [];
    const done = (closed: boolean) => {
      clearTimeout(timer);
      s.destroy();
      resolve({ text: Buffer.concat(chunks).toString('latin1'), closed });
    };
    const timer = setTimeout(() => done(false), waitMs);
    s.on('data', (d: Buffer) => chunks.push(d));
    s.on('close', () => done(true));
    s.on('error', () => {});
    if (end) s.end(payload);
    else s.write(payload);
  });
}

describe('egress proxy fuzz (live daemon)', { skip: problem ?? false }, () => {
  let sb: Sandbox;
  let origin: TestServer;
  let socket: string;
  let daemonPid: number;
  let runDone: Promise<{ code: number | null; output: string }>;

  before(async () => {
    sb = makeSandbox('net-fuzz');
    origin = await startOrigin();
    writeHostOverrides(sb.state, ['allowed.test']);
    const policy = join(sb.root, '05-fuzz.yaml');
    // everything but allowed.test is denied, so no mutated host can open a hold and wait for a person
    writeFileSync(
      policy,
      'network:\n  rules:\n    - id: f-allow\n      hosts: [allowed.test]\n      decision: allow\n    - id: f-deny\n      hosts: ["*"]\n      decision: deny\n',
    );
    runDone = wardenAsync(sb, ['run', '--net', 'isolated', '--workspace', sb.ws, '--policy', policy, '--', 'python3', '-c', 'import os, time\nwhile not os.path.exists("stop"): time.sleep(0.1)'], { timeoutMs: 120_000 }); // prettier-ignore
    socket = join(sb.state, 'net', '1.sock');
    let ended: { code: number | null; output: string } | null = null;
    void runDone.then((r) => (ended = r));
    for (let i = 0; i < 600 && !existsSync(socket) && !ended; i++)
      await new Promise((r) => setTimeout(r, 50));
    assert.ok(
      existsSync(socket),
      `the run has no proxy socket; run: ${JSON.stringify(ended)}; net/: ${existsSync(join(sb.state, 'net')) ? readdirSync(join(sb.state, 'net')).join(' ') : '-'}; runs: ${warden(sb, ['runs', '--json']).stdout.slice(0, 400)}`,
    );
    daemonPid = Number(readFileSync(join(sb.state, 'daemon.pid'), 'utf8'));
  });

  after(async () => {
    if (sb) {
      writeFileSync(join(sb.ws, 'stop'), '');
      await runDone;
    }
    await origin?.close();
    if (sb) destroySandbox(sb);
  });

  const good = () =>
    `GET http://allowed.test:${origin.port}/ok HTTP/1.1\r\nHost: allowed.test:${origin.port}\r\nConnection: close\r\n\r\n`;

  test('handcrafted bad requests get clean answers', async () => {
    const p = origin.port;
    const cases: [string, string | Buffer, number][] = [
      ['garbage', 'GARBAGE\r\n\r\n', 400],
      ['origin-form', 'GET / HTTP/1.1\r\nHost: x\r\n\r\n', 400],
      ['https absolute-form', 'GET https://allowed.test/ HTTP/1.1\r\nHost: x\r\n\r\n', 400],
      ['CONNECT without port', 'CONNECT allowed.test HTTP/1.1\r\n\r\n', 400],
      ['CONNECT port 0', 'CONNECT allowed.test:0 HTTP/1.1\r\n\r\n', 400],
      ['CONNECT port too big', 'CONNECT allowed.test:99999 HTTP/1.1\r\n\r\n', 400],
      ['CONNECT bad host', 'CONNECT al/lowed:443 HTTP/1.1\r\n\r\n', 400],
      ['header without colon', `GET http://allowed.test:${p}/ HTTP/1.1\r\nHost x\r\n\r\n`, 400],
      ['NUL in header', `GET http://allowed.test:${p}/ HTTP/1.1\r\nX-A: a\0b\r\n\r\n`, 400],
      ['bad content-length', `POST http://allowed.test:${p}/ HTTP/1.1\r\nContent-Length: abc\r\n\r\n`, 400],
      ['CL and TE', `POST http://allowed.test:${p}/ HTTP/1.1\r\nContent-Length: 3\r\nTransfer-Encoding: chunked\r\n\r\n0\r\n\r\n`, 400],
      ['bad chunk', `POST http://allowed.test:${p}/ HTTP/1.1\r\nTransfer-Encoding: chunked\r\n\r\nzz\r\n`, 400],
      ['HTTP/2 preface', 'PRI * HTTP/2.0\r\n\r\nSM\r\n\r\n', 400],
      ['bad version', `GET http://allowed.test:${p}/ HTTP/9.9\r\n\r\n`, 400],
      ['space in host', 'GET http://allo wed.test/ HTTP/1.1\r\n\r\n', 400],
      ['oversize header', `GET http://allowed.test:${p}/ HTTP/1.1\r\nX-Big: ${'a'.repeat(20_000)}\r\n\r\n`, 431],
      ['oversize URL', `GET http://allowed.test:${p}/${'a'.repeat(100_000)} HTTP/1.1\r\n\r\n`, 431],
      ['many headers', `GET http://allowed.test:${p}/ HTTP/1.1\r\n${'X-Header-Name: value\r\n'.repeat(5000)}\r\n`, 431],
      ['binary', Buffer.from([0x16, 0x03, 0x01, 0x02, 0x00, 0x01, 0xff, 0xfe, 0x0d, 0x0a, 0x0d, 0x0a]), 400],
      ['denied host', 'GET http://elsewhere.test/ HTTP/1.1\r\nHost: elsewhere.test\r\nConnection: close\r\n\r\n', 403],
      ['no Host header (RFC 9112 §3.2)', 'GET http://elsewhere.test/ HTTP/1.1\r\n\r\n', 400],
      ['denied CONNECT', 'CONNECT elsewhere.test:443 HTTP/1.1\r\n\r\n', 403],
    ]; // prettier-ignore
    for (const [name, payload, want] of cases) {
      const r = await rawUnix(socket, payload);
      assert.equal(statusOf(r.text), want, `${name}: ${JSON.stringify(r.text.slice(0, 200))}`);
      assert.ok(r.closed, `${name}: the connection was not closed after the error`);
    }
  });

  test(`seeded mutations of good requests (seed ${SEED}): an HTTP status or a close, never a hang`, async () => {
    const rand = prng(SEED);
    const pick = <T>(a: T[]) => a[Math.floor(rand() * a.length)] as T;
    const bases = [
      good(),
      `CONNECT allowed.test:${origin.port} HTTP/1.1\r\nHost: allowed.test\r\n\r\n`,
      `POST http://allowed.test:${origin.port}/p HTTP/1.1\r\nContent-Length: 5\r\nConnection: close\r\n\r\nhello`,
    ];
    const junk = [
      '\r',
      '\n',
      '\0',
      '\xff',
      ':',
      ' ',
      '\t',
      '[',
      '%',
      '\r\n\r\n',
      'Transfer-Encoding: chunked\r\n',
    ];
    const start = Date.now();
    let n = 0;
    const statuses = new Map<number, number>();
    while (Date.now() - start < BUDGET_MS && n < 400) {
      let s = pick(bases);
      for (let k = 1 + Math.floor(rand() * 4); k > 0; k--) {
        const i = Math.floor(rand() * s.length);
        const op = rand();
        if (op < 0.4) s = s.slice(0, i) + pick(junk) + s.slice(i);
        else if (op < 0.7) s = s.slice(0, i) + s.slice(i + 1);
        else if (op < 0.85) s = s.slice(0, i) + String.fromCharCode(Math.floor(rand() * 256)) + s.slice(i + 1);
        else s = s.slice(0, i);
      }
      // half-closed after the bytes, so a truncated request meets EOF instead of waiting for more
      const r = await rawUnix(socket, Buffer.from(s, 'latin1'), 1500, true);
      const st = statusOf(r.text);
      statuses.set(st, (statuses.get(st) ?? 0) + 1);
      // Anything answered is a well-formed status line (a closed connection without an answer is fine).
      if (r.text.length > 0) assert.ok(st >= 200 && st < 600, `case ${n}: ${JSON.stringify(s)} → ${JSON.stringify(r.text.slice(0, 120))}`);
      n++;
    } // prettier-ignore
    assert.ok(n >= 100, `only ${n} cases ran in the budget`);
    assert.ok(statuses.has(400), `no 400 among ${JSON.stringify([...statuses])}`);
  });

  test('the daemon survived, is the same process, and still proxies a good request', async () => {
    assert.doesNotThrow(() => process.kill(daemonPid, 0));
    assert.equal(Number(readFileSync(join(sb.state, 'daemon.pid'), 'utf8')), daemonPid);
    const r = await rawUnix(socket, good());
    assert.equal(statusOf(r.text), 200, r.text);
    assert.match(r.text, new RegExp(`hello from allowed.test:${origin.port} /ok`));
    const st = warden(sb, ['status', '--json']);
    assert.equal(st.status, 0, st.stderr);
  });
});

if (problem) test('egress proxy fuzz', (t) => t.skip(`no network namespace can be made here: ${problem}`));
