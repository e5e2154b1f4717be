/**
 * The messages extension on a real Service (journal, state dir) without the socket server: what a run gets
 * (PATH, env, forwards), the isolated-run SMTP listener on a unix socket (spoken to in raw SMTP, with an
 * attachment), recipient validation on edit, and the outbox: its token, and sessions bound to their run.
 */
import { test, after } from 'node:test';
import assert from 'node:assert/strict';
import { connect } from 'node:net';
import { existsSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { tmpdir } from 'node:os';
import { createTransport } from 'nodemailer';
import { Service } from '../../core/daemon/service.js';
import { ensureStateDir } from '../../core/util/paths.js';
import { makeMessagesExtension, shimDir, ISOLATED_SMTP_PORT } from '../../core/messages/daemon.js';
import { DaemonClient } from '../../core/api/client.js';
import type { Message } from '../../core/api/contract-messages.js';
import { startSink } from './sink.js';

const root = mkdtempSync(join(tmpdir(), 'warden-msg-ext-'));
const layout = ensureStateDir(join(root, 'state'));
const service = new Service(layout, () => {});
const ext = await makeMessagesExtension({ releaseAfterMs: 3_600_000 })(service);
const sink = await startSink();
writeFileSync(join(layout.dir, 'smtp.yaml'), `host: 127.0.0.1\nport: ${sink.port}\n`, { mode: 0o600 });
after(async () => {
  await ext.close?.();
  service.close();
  await sink.close();
  rmSync(root, { recursive: true, force: true });
});

type H = (p: unknown) => unknown;
const call = (method: string, params: unknown) => (ext.handlers?.[method] as H)(params);
const ctx = (run: number, net: 'isolated' | 'host') => ({
  run,
  argv: ['agent'],
  cwd: root,
  workspace: root,
  home: root,
  net,
});

/** Speaks SMTP over a unix socket, line by line, and returns the server's replies. */
async function rawSmtp(socket: string, from: string, to: string, data: Buffer): Promise<string[]> {
  const s = connect(socket);
  const replies: string[] = [];
  let buf = '';
  let wake: (() => void) | null = null;
  s.on('data', (d) => {
    buf += d.toString();
    // a reply is complete when a line has a space after the code (RFC 5321 §4.2.1)
    const m = /^\d{3} .*\r\n/m.exec(buf);
    if (m) {
      replies.push(buf);
      buf = '';
      wake?.();
    }
  });
  const reply = () =>
    new Promise<string>((resolve) => {
      if (replies.length > 0) return resolve(replies.shift() as string);
      wake = () => {
        wake = null;
        resolve(replies.shift() as string);
      };
    });
  const say = async (line: string | Buffer) => {
    s.write(line);
    return reply();
  };
  const out = [await reply()];
  out.push(await say('EHLO agent\r\n'));
  out.push(await say(`MAIL FROM:<${from}>\r\n`));
  out.push(await say(`RCPT TO:<${to}>\r\n`));
  out.push(await say('DATA\r\n'));
  out.push(await say(Buffer.concat([data, Buffer.from('\r\n.\r\n')])));
  out.push(await say('QUIT\r\n'));
  s.end();
  return out;
}

test('an isolated run gets the shim on PATH, WARDEN_SMTP on port 2525, and a forward to a unix-socket listener', async () => {
  const run = service.journal.createRun({ argv: ['agent'], cwd: root, workspace: root });
  const setup = await ext.runStart!(ctx(run, 'isolated'));
  assert.deepEqual(setup.pathPrepend, [shimDir]);
  assert.ok(existsSync(join(shimDir, 'sendmail')));
  assert.equal(setup.env?.WARDEN_SMTP, `127.0.0.1:${ISOLATED_SMTP_PORT}`);
  assert.equal(setup.env?.WARDEN_RUN, String(run));
  const fwd = setup.forwards?.[0];
  assert.ok(fwd && fwd.port === ISOLATED_SMTP_PORT && fwd.socket.endsWith('smtp.sock'));
  assert.ok(
    !fwd.socket.startsWith(layout.dir),
    'the socket is outside the state dir (the run could not reach it)',
  );

  const mime = await new Promise<Buffer>((resolve, reject) =>
    createTransport({ streamTransport: true, buffer: true }).sendMail(
      {
        from: 'agent@example.test',
        to: 'bob@example.test',
        subject: 'With attachment',
        text: 'see attached',
        attachments: [{ filename: 'report.csv', content: 'a,b\n1,2\n' }],
      },
      (err, info) => (err ? reject(err) : resolve(info.message as Buffer)),
    ),
  );
  const replies = await rawSmtp(fwd.socket, 'agent@example.test', 'bob@example.test', mime);
  assert.match(replies[5] ?? '', /^250 .*queued as Warden message \d+/);
  const [m] = call('messages.list', { limit: 10 }) as Message[];
  assert.ok(m);
  assert.equal(m.run, run);
  assert.equal(m.subject, 'With attachment');
  assert.deepEqual(m.attachments, [{ name: 'report.csv', bytes: 8, type: 'text/csv' }]);

  assert.throws(
    () => call('messages.edit', { id: m.id, destination: 'not an address' }),
    /not a mail address/,
  );
  assert.equal((call('messages.get', { id: m.id }) as Message).destination, 'bob@example.test');

  const sent = (await call('messages.send', { id: m.id })) as Message;
  assert.equal(sent.state, 'sent', sent.error ?? '');
  const got = sink.received.at(-1);
  assert.equal(got?.subject, 'With attachment');
  assert.match(got?.raw ?? '', /filename="?report\.csv"?/);
  const events = service.journal.events(run).filter((e) => e.op === 'message');
  assert.deepEqual(
    events.map((e) => e.argv?.[0]),
    ['queued', 'sent'],
  );
  await ext.runEnd!(run);
  assert.equal(existsSync(fwd.socket), false, 'the listener is gone with the run');
});

test('outbox: a wrong token is refused; sessions work only on the outbox of their own run', async () => {
  const runA = service.journal.createRun({ argv: ['a'], cwd: root, workspace: root });
  const runB = service.journal.createRun({ argv: ['b'], cwd: root, workspace: root });
  const a = await ext.runStart!(ctx(runA, 'host'));
  const b = await ext.runStart!(ctx(runB, 'host'));
  const open = { name: 'srv', command: 'true', args: [], env: {}, cwd: root };
  const ca = await DaemonClient.connect(a.env?.WARDEN_OUTBOX as string);
  const cb = await DaemonClient.connect(b.env?.WARDEN_OUTBOX as string);
  try {
    await assert.rejects(ca.call('mcp.open', { ...open, token: 'wrong' }), /WARDEN_OUTBOX_TOKEN/);
    await assert.rejects(ca.call('status', {}), /serves only mcp/);
    const s = (await ca.call('mcp.open', { ...open, token: a.env?.WARDEN_OUTBOX_TOKEN })) as {
      session: string;
      run: number;
    };
    assert.equal(s.run, runA);
    const d = (await ca.call('mcp.call', { session: s.session, tool: 'echo', arguments: {} })) as {
      decision: string;
    };
    assert.equal(d.decision, 'allow');
    await assert.rejects(
      cb.call('mcp.call', { session: s.session, tool: 'echo', arguments: {} }),
      /unknown MCP gateway session/,
    );
    assert.deepEqual(
      service.journal.events(runA).map((e) => [e.op, e.path, e.decision]),
      [['mcp_call', 'mcp:srv/echo', 'allow']],
    );
    assert.equal(service.journal.events(runB).length, 0);
  } finally {
    ca.close();
    cb.close();
    await ext.runEnd!(runA);
    await ext.runEnd!(runB);
  }
});
