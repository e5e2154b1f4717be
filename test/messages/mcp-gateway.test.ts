/**
 * The MCP gateway end to end with a real daemon: the real @modelcontextprotocol/server-filesystem behind
 * `warden mcp` (calls pass and are journaled), and the test mail server whose `send_email` calls are queued,
 * shown, edited (through $EDITOR), cancelled and released after the agent process has exited — arriving once
 * at a real SMTP sink with the edited body — and a daemon killed during release (no duplicate, no loss).
 */
import { test, after, before } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync, writeFileSync, existsSync } from 'node:fs';
import { join } from 'node:path';
import { destroySandbox, makeSandbox, runLog, warden, wardenAsync } from '../helpers/warden.js';
import { ensureStateDir } from '../../core/util/paths.js';
import { messageIdFor } from '../../core/messages/deliver.js';
import { startSink, type Sink } from './sink.js';
import {
  filesystemServerJs,
  gatewayArgv,
  killDaemon,
  listMessages,
  mailServerJs,
  resultText,
  runAgent,
  showMessage,
  until,
} from './env.js';

const sb = makeSandbox('mcp-gateway');
let sink: Sink;
const serverLog = join(sb.root, 'mail-server.log');
const starts = () => (existsSync(serverLog) ? readFileSync(serverLog, 'utf8').trim().split('\n').length : 0);

before(async () => {
  ensureStateDir(sb.state);
  sink = await startSink();
});
after(async () => {
  await sink.close();
  destroySandbox(sb);
});

const mailEnv = () => ({ MAIL_SINK: `127.0.0.1:${sink.port}`, MAIL_SERVER_LOG: serverLog });

test('the real filesystem MCP server works behind the gateway and each call is journaled as mcp_call', async () => {
  const r = await runAgent(sb, gatewayArgv('fs', [process.execPath, filesystemServerJs, sb.ws]), [
    { name: 'write_file', arguments: { path: join(sb.ws, 'note.txt'), content: 'written through warden' } },
    { name: 'read_text_file', arguments: { path: join(sb.ws, 'note.txt') } },
    { name: 'list_directory', arguments: { path: sb.ws } },
  ]);
  assert.ok(
    r.tools.includes('write_file') && r.tools.includes('list_directory'),
    `tools: ${r.tools.join(',')}`,
  );
  assert.equal(readFileSync(join(sb.ws, 'note.txt'), 'utf8'), 'written through warden');
  assert.match(resultText(r.results[1]), /written through warden/);
  assert.match(resultText(r.results[2]), /note\.txt/);
  const log = runLog(sb, 'last');
  const calls = log.events.filter((e) => e.op === 'mcp_call');
  assert.deepEqual(
    calls.map((e) => [e.path, e.decision, e.ruleId]),
    [
      ['mcp:fs/write_file', 'allow', 'mcp-default-allow'],
      ['mcp:fs/read_text_file', 'allow', 'mcp-default-allow'],
      ['mcp:fs/list_directory', 'allow', 'mcp-default-allow'],
    ],
  );
});

let editedId = 0;

test('send_email is queued (the agent is told so), echo passes; nothing reaches the sink yet', async () => {
  const r = await runAgent(
    sb,
    gatewayArgv('mail', [process.execPath, mailServerJs]),
    [
      { name: 'echo', arguments: { text: 'ping' } },
      { name: 'send_email', arguments: { to: 'bob@example.test', subject: 'Status', body: 'draft body' } },
      { name: 'send_email', arguments: { to: 'eve@example.test', subject: 'Leak', body: 'secrets' } },
    ],
    mailEnv(),
  );
  assert.equal(resultText(r.results[0]), 'echo: ping');
  const queuedText = resultText(r.results[1]);
  assert.match(queuedText, /Queued for review: Warden holds this as outbound message \d+/);
  assert.equal(r.results[1]?.isError, false);
  assert.equal(sink.received.length, 0, 'a queued send must not reach the sink');
  const msgs = listMessages(sb);
  assert.equal(msgs.length, 2);
  const status = msgs.find((m) => m.subject === 'Status');
  assert.ok(status);
  assert.equal(status.state, 'queued');
  assert.equal(status.channel, 'mcp');
  assert.equal(status.destination, 'mail/send_email → bob@example.test');
  assert.ok(status.releaseAt - status.createdAt >= 4 * 60_000, 'default release is 5 minutes out');
  assert.match(queuedText, new RegExp(`message ${status.id}\\b`));
  editedId = status.id;
  const show = warden(sb, ['messages', 'show', String(status.id)]);
  assert.equal(show.status, 0, show.stderr);
  assert.match(show.stdout, /\| draft body/);
  const calls = runLog(sb, 'last').events.filter((e) => e.op === 'mcp_call');
  assert.deepEqual(
    calls.map((e) => [e.path, e.decision]),
    [
      ['mcp:mail/echo', 'allow'],
      ['mcp:mail/send_email', 'delay'],
      ['mcp:mail/send_email', 'delay'],
    ],
  );
});

test('edit through $EDITOR, cancel the other, release after the agent exited: one mail with the edited body', async () => {
  const editor = join(sb.root, 'editor.mjs');
  writeFileSync(
    editor,
    `import { readFileSync, writeFileSync } from 'node:fs';
const f = process.argv[2];
writeFileSync(f, readFileSync(f, 'utf8').replace('draft body', 'edited body').replace('Subject: Status', 'Subject: Status (final)'));
`,
  );
  const ed = warden(sb, ['messages', 'edit', String(editedId)], {
    env: { EDITOR: `${process.execPath} ${editor}`, VISUAL: '' },
  });
  assert.equal(ed.status, 0, ed.stderr);
  const edited = showMessage(sb, editedId);
  assert.equal(edited.state, 'edited');
  assert.equal(edited.body, 'edited body');

  const other = listMessages(sb).find((m) => m.subject === 'Leak');
  assert.ok(other);
  const c = warden(sb, ['messages', 'cancel', String(other.id)]);
  assert.equal(c.status, 0, c.stderr);

  const startsBefore = starts();
  // Async: the sink lives in this process, so a blocking spawnSync would starve it.
  const s = await wardenAsync(sb, ['messages', 'send', String(editedId)]);
  assert.equal(s.code, 0, s.output);
  assert.equal(starts(), startsBefore + 1, 'the daemon started the server itself for the release');
  const sent = showMessage(sb, editedId);
  assert.equal(sent.state, 'sent');
  assert.equal(sink.received.length, 1);
  assert.equal(sink.received[0]?.text, 'edited body');
  assert.equal(sink.received[0]?.subject, 'Status (final)');
  assert.equal(sink.received[0]?.messageId, messageIdFor(sent.idempotencyKey));
  assert.equal(showMessage(sb, other.id).state, 'cancelled');
  const again = warden(sb, ['messages', 'send', String(other.id)]);
  assert.notEqual(again.status, 0, 'a cancelled message cannot be sent');
  assert.equal(sink.received.length, 1);
  const msgEvents = runLog(sb, 'last')
    .events.filter((e) => e.op === 'message')
    .map((e) => (e.argv as string[])[0]);
  assert.deepEqual(msgEvents, ['queued', 'queued', 'edited', 'cancelled', 'sent']);
});

test('a bad edit keeps the text in a named file and changes nothing', async () => {
  const r = await runAgent(
    sb,
    gatewayArgv('mail', [process.execPath, mailServerJs]),
    [{ name: 'send_email', arguments: { to: 'bob@example.test', subject: 'Bad edit', body: 'keep me' } }],
    mailEnv(),
  );
  const id = Number(/message (\d+)/.exec(resultText(r.results[0]))?.[1]);
  const editor = join(sb.root, 'bad-editor.mjs');
  writeFileSync(
    editor,
    `import { writeFileSync } from 'node:fs';\nwriteFileSync(process.argv[2], 'Nonsense header\\nmy new words\\n');\n`,
  );
  const ed = warden(sb, ['messages', 'edit', String(id)], {
    env: { EDITOR: `${process.execPath} ${editor}`, VISUAL: '' },
  });
  assert.equal(ed.status, 2, ed.stderr);
  const kept = /kept in (\S+);/.exec(ed.stderr)?.[1];
  assert.ok(kept, ed.stderr);
  assert.match(readFileSync(kept, 'utf8'), /my new words/);
  const m = showMessage(sb, id);
  assert.equal(m.state, 'queued');
  assert.equal(m.body, 'keep me');
  assert.equal(warden(sb, ['messages', 'cancel', String(id)]).status, 0);
});

test('daemon killed during release: after restart the message is sent, the sink keeps exactly one', async () => {
  const r = await runAgent(
    sb,
    gatewayArgv('mail', [process.execPath, mailServerJs]),
    [{ name: 'send_email', arguments: { to: 'dan@example.test', subject: 'Crash', body: 'exactly once' } }],
    mailEnv(),
  );
  const id = Number(/message (\d+)/.exec(resultText(r.results[0]))?.[1]);
  const key = showMessage(sb, id).idempotencyKey;
  const mine = () => sink.received.filter((m) => m.messageId === messageIdFor(key));
  // The sink stores the mail, then stalls its answer: the daemon dies after delivery, before recording it.
  sink.stall.afterDataMs = 4000;
  const sending = wardenAsync(sb, ['messages', 'send', String(id)], { timeoutMs: 60_000 });
  await until('the sink to receive the mail', () => mine().length === 1);
  await killDaemon(sb);
  const cli = await sending;
  assert.notEqual(cli.code, 0, 'the send command saw the daemon die');
  sink.stall.afterDataMs = 0;
  // Any command starts the daemon again; at start it resolves what was left in `sending`.
  await until(
    'the message to be resolved after the restart',
    () => showMessage(sb, id).state === 'sent',
    60_000,
  );
  const m = showMessage(sb, id);
  assert.equal(m.attempts, 2);
  assert.equal(mine().length, 2, 'the recovery resent it (the first answer was never recorded)');
  assert.equal(new Set(mine().map((x) => x.messageId)).size, 1, 'both carry the same Message-ID');
  assert.equal(
    sink.unique().filter((x) => x.messageId === messageIdFor(key)).length,
    1,
    'no duplicate after dedupe',
  );
  assert.equal(mine()[0]?.text, 'exactly once', 'no loss');
});

test('policy: an mcp rule denies a tool by argument pattern; the agent gets an error result naming the rule', async () => {
  writeFileSync(
    join(sb.state, 'policies', '60-mcp.yaml'),
    `mcp:
  rules:
    - id: no-etc
      why: The filesystem server must not touch /etc.
      server: fs
      tool: '*'
      args: { path: '/etc/**' }
      decision: deny
    - id: echo-is-a-send
      why: Test rule that queues echo.
      server: mail
      tool: echo
      decision: queue
`,
  );
  const r = await runAgent(sb, gatewayArgv('fs', [process.execPath, filesystemServerJs, sb.ws]), [
    { name: 'read_text_file', arguments: { path: '/etc/hostname' } },
    { name: 'list_directory', arguments: { path: sb.ws } },
  ]);
  assert.equal(r.results[0]?.isError, true);
  assert.match(resultText(r.results[0]), /Warden denied fs\/read_text_file \(rule no-etc\)/);
  assert.match(resultText(r.results[1]), /note\.txt/);
  const calls = runLog(sb, 'last').events.filter((e) => e.op === 'mcp_call');
  assert.deepEqual(
    calls.map((e) => [e.path, e.decision, e.ruleId]),
    [
      ['mcp:fs/read_text_file', 'deny', 'no-etc'],
      ['mcp:fs/list_directory', 'allow', 'mcp-default-allow'],
    ],
  );
  const q = await runAgent(
    sb,
    gatewayArgv('mail', [process.execPath, mailServerJs]),
    [{ name: 'echo', arguments: { text: 'held' } }],
    mailEnv(),
  );
  assert.match(resultText(q.results[0]), /Queued for review/);
});

test('the journal with the daemon-written mcp_call and message events still verifies', () => {
  const r = warden(sb, ['verify']);
  assert.equal(r.status, 0, r.stderr + r.stdout);
});
