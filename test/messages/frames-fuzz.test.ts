/**
 * Malformed and oversize MCP frames get clean JSON-RPC errors and never crash: the frame parser on thousands
 * of generated inputs (seeded, so a failure reproduces), and a real `warden mcp` process fed garbage between
 * real requests, which it must keep answering.
 */
import { test, after, before } from 'node:test';
import assert from 'node:assert/strict';
import { spawn, type ChildProcessWithoutNullStreams } from 'node:child_process';
import { PassThrough } from 'node:stream';
import { parseFrame, readFrames, type Frame } from '../../core/mcp/frames.js';
import { destroySandbox, makeSandbox, wardenBin } from '../helpers/warden.js';
import { ensureStateDir } from '../../core/util/paths.js';
import { mailServerJs } from './env.js';

/** mulberry32: a small seeded PRNG (public domain), so a failing input can be regenerated. */
function prng(seed: number): () => number {
  return () => {
    seed = (seed + 0x6d2b79f5) | 0;
    let t = Math.imul(seed ^ (seed >>> 15), 1 | seed);
    t = (t + Math.imul(t ^ (t >>> 7), 61 | t)) ^ t;
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

const VALID = [
  '{"jsonrpc":"2.0","id":1,"method":"tools/list"}',
  '{"jsonrpc":"2.0","id":"a","method":"tools/call","params":{"name":"echo","arguments":{"text":"x"}}}',
  '{"jsonrpc":"2.0","method":"notifications/initialized"}',
  '{"jsonrpc":"2.0","id":3,"result":{}}',
];

function mutate(rand: () => number, s: string): string {
  const ops = [
    () => s.slice(0, Math.floor(rand() * s.length)),
    () => s.replace(/"2\.0"/, rand() < 0.5 ? '"1.0"' : '2'),
    () =>
      s.replace(
        /"id":[^,}]+/,
        ['"id":null', '"id":{}', '"id":[1]', '"id":1e999', '"id":true'][Math.floor(rand() * 5)] as string,
      ),
    () => s.replace(/"method":"[^"]*"/, '"method":42'),
    () => {
      const i = Math.floor(rand() * s.length);
      return s.slice(0, i) + String.fromCharCode(Math.floor(rand() * 256)) + s.slice(i + 1);
    },
    () =>
      JSON.stringify(JSON.parse(s) as unknown, null, 0).replace(
        /}$/,
        ',"extra":' + '['.repeat(50) + ']'.repeat(50) + '}',
      ),
    () => `[${s},${s}]`,
    () => Buffer.from(Array.from({ length: 40 }, () => Math.floor(rand() * 256))).toString('latin1'),
  ];
  return (ops[Math.floor(rand() * ops.length)] as () => string)();
}

test('parseFrame answers every generated input with a message or a JSON-RPC error, never a throw', () => {
  const rand = prng(0x5eed);
  let errors = 0;
  for (let i = 0; i < 5000; i++) {
    const input = mutate(rand, VALID[i % VALID.length] as string);
    let f: Frame;
    assert.doesNotThrow(() => (f = parseFrame(input)), `input #${i}: ${JSON.stringify(input)}`);
    f = parseFrame(input);
    if (!f.ok) {
      errors++;
      assert.equal(f.answer.jsonrpc, '2.0');
      assert.ok([-32700, -32600].includes(f.answer.error.code), `code ${f.answer.error.code}`);
      assert.ok(f.answer.id === null || ['string', 'number'].includes(typeof f.answer.id));
      assert.doesNotThrow(() => JSON.stringify(f));
    }
  }
  assert.ok(errors > 2000, `the mutations produced malformed frames (${errors})`);
  for (const v of VALID) assert.equal(parseFrame(v).ok, true, v);
  assert.deepEqual(parseFrame('{').ok, false);
  const bad = parseFrame('{"jsonrpc":"2.0","id":7,"method":5}');
  assert.ok(!bad.ok && bad.answer.id === 7 && bad.answer.error.code === -32600);
});

test('readFrames: an oversize line yields one error and the next line is read normally, across chunk splits', async () => {
  const input = new PassThrough();
  const frames: Frame[] = [];
  let ended = false;
  readFrames(
    input,
    (f) => frames.push(f),
    () => (ended = true),
    1000,
  );
  const big = 'x'.repeat(5000);
  const stream = `${VALID[0]}\n${big}\n${VALID[1]}\n\n`;
  for (let i = 0; i < stream.length; i += 7) input.write(stream.slice(i, i + 7));
  input.end();
  await new Promise((r) => setImmediate(r));
  assert.equal(ended, true);
  assert.equal(frames.length, 3);
  assert.equal(frames[0]?.ok, true);
  assert.ok(!frames[1]?.ok && /over 1000 bytes/.test(frames[1]?.answer.error.message ?? ''));
  assert.equal(frames[2]?.ok, true);
});

const sb = makeSandbox('mcp-fuzz');
before(() => void ensureStateDir(sb.state));
after(() => destroySandbox(sb));

/** A `warden mcp` process with line-based request/answer helpers. */
function gateway(): {
  child: ChildProcessWithoutNullStreams;
  stderr: () => string;
  next: () => Promise<Record<string, unknown>>;
  send: (s: string) => void;
} {
  const child = spawn(
    process.execPath,
    [wardenBin, 'mcp', '--name', 'mail', '--max-frame', '65536', '--', process.execPath, mailServerJs],
    { env: sb.env, cwd: sb.ws },
  );
  let err = '';
  child.stderr.on('data', (d: Buffer) => (err += d.toString('utf8')));
  const lines: string[] = [];
  const waiters: ((l: string) => void)[] = [];
  let buf = '';
  child.stdout.on('data', (d: Buffer) => {
    buf += d.toString('utf8');
    let nl;
    while ((nl = buf.indexOf('\n')) >= 0) {
      const l = buf.slice(0, nl);
      buf = buf.slice(nl + 1);
      const w = waiters.shift();
      if (w) w(l);
      else lines.push(l);
    }
  });
  return {
    child,
    stderr: () => err,
    send: (s) => child.stdin.write(s + '\n'),
    next: () =>
      new Promise((resolve, reject) => {
        const l = lines.shift();
        if (l !== undefined) return resolve(JSON.parse(l) as Record<string, unknown>);
        const t = setTimeout(() => reject(new Error('no answer from the gateway in 20 s')), 20_000);
        waiters.push((x) => {
          clearTimeout(t);
          resolve(JSON.parse(x) as Record<string, unknown>);
        });
      }),
  };
}

test('a real gateway answers garbage with JSON-RPC errors and keeps serving real requests', async () => {
  const g = gateway();
  const codeOf = (a: Record<string, unknown>) => (a.error as { code?: number } | undefined)?.code;
  try {
    g.send(
      JSON.stringify({
        jsonrpc: '2.0',
        id: 1,
        method: 'initialize',
        params: {
          protocolVersion: '2025-06-18',
          capabilities: {},
          clientInfo: { name: 'fuzz', version: '1' },
        },
      }),
    );
    const init = await g.next();
    assert.equal(init.id, 1);
    assert.ok(init.result, JSON.stringify(init));
    g.send('{"jsonrpc":"2.0","method":"notifications/initialized"}');

    g.send('this is not json');
    const a1 = await g.next();
    assert.equal(codeOf(a1), -32700);
    assert.equal(a1.id, null);

    g.send('{"jsonrpc":"2.0","id":9,"method":17}');
    const a2 = await g.next();
    assert.equal(codeOf(a2), -32600);
    assert.equal(a2.id, 9);

    g.send('{"jsonrpc":"2.0","id":10,"method":"tools/call","params":{"arguments":{}}}');
    const a3 = await g.next();
    assert.equal(codeOf(a3), -32602, 'tools/call without a name');
    assert.equal(a3.id, 10);

    g.send(
      '{"jsonrpc":"2.0","method":"tools/call","params":{"name":"echo","arguments":{"text":"unchecked"}}}',
    );

    g.send('"' + 'A'.repeat(200_000) + '"');
    const a4 = await g.next();
    assert.equal(codeOf(a4), -32600);
    assert.match(String((a4.error as { message: string }).message), /over 65536 bytes/);

    // Random garbage: every line that is not a valid message gets exactly one error answer.
    const rand = prng(42);
    let expected = 0;
    for (let i = 0; i < 300; i++) {
      const line = mutate(rand, VALID[i % 2 === 0 ? 0 : 2] as string).replace(/[\r\n]/g, ' ');
      const f = parseFrame(line);
      if (f.ok || line.trim() === '') continue;
      g.send(line);
      expected++;
    }
    for (let i = 0; i < expected; i++) assert.ok([-32700, -32600].includes(codeOf(await g.next()) as number));

    g.send(
      JSON.stringify({
        jsonrpc: '2.0',
        id: 'after',
        method: 'tools/call',
        params: { name: 'echo', arguments: { text: 'still here' } },
      }),
    );
    const last = await g.next();
    assert.equal(last.id, 'after');
    assert.deepEqual((last.result as { content: unknown[] }).content, [
      { type: 'text', text: 'echo: still here' },
    ]);
    assert.equal(g.child.exitCode, null, 'the gateway is still running');
    assert.match(g.stderr(), /dropped a tools\/call notification/);
  } finally {
    g.child.kill();
  }
});
