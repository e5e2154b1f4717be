/**
 * The mail path for guarded runs: `sendmail -t` (Warden's shim, first on PATH) and Python's smtplib talking to
 * the per-run SMTP listener ($WARDEN_SMTP) inside `warden run --net host`. Both are queued, not sent; after an
 * edit and a release they arrive at a real SMTP sink (the user's "relay", configured in <state>/smtp.yaml)
 * with the edited body. A daemon killed while the relay has not even greeted it loses nothing either.
 */
import { test, after, before } from 'node:test';
import assert from 'node:assert/strict';
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { destroySandbox, guarded, makeSandbox, runLog, warden, wardenAsync } from '../helpers/warden.js';
import { ensureStateDir } from '../../core/util/paths.js';
import { netnsProblem } from '../../core/net/netns.js';
import { messageIdFor } from '../../core/messages/deliver.js';
import { startSink, type Sink } from './sink.js';
import { killDaemon, listMessages, showMessage, until } from './env.js';

const sb = makeSandbox('mail');
let sink: Sink;
before(async () => {
  ensureStateDir(sb.state);
  sink = await startSink();
  writeFileSync(join(sb.state, 'smtp.yaml'), `host: 127.0.0.1\nport: ${sink.port}\n`, { mode: 0o600 });
});
after(async () => {
  await sink.close();
  destroySandbox(sb);
});

const SENDMAIL_PY = `
import os, shutil, subprocess, sys
print("sendmail is", shutil.which("sendmail"))
msg = "From: agent@example.test\\nTo: alice@example.test\\nBcc: hidden@example.test\\nSubject: Build report\\n\\nAll tests passed.\\n.\\nnot the end with -i\\n"
r = subprocess.run(["sendmail", "-t", "-i"], input=msg.encode())
sys.exit(r.returncode)
`;

const SMTPLIB_PY = `
import os, smtplib
from email.message import EmailMessage
host, port = os.environ["WARDEN_SMTP"].split(":")
m = EmailMessage()
m["From"] = "agent@example.test"
m["To"] = "bob@example.test"
m["Subject"] = "From smtplib"
m.set_content("python body")
with smtplib.SMTP(host, int(port)) as s:
    reply = s.send_message(m)
    print("refused:", reply)
`;

/** Edits message `id` with `warden messages edit`, the editor replacing `from` by `to` in the file. */
function editBody(id: number, from: string, to: string): void {
  const editor = join(sb.root, `editor-${id}.mjs`);
  writeFileSync(
    editor,
    `import { readFileSync, writeFileSync } from 'node:fs';
const f = process.argv[2];
writeFileSync(f, readFileSync(f, 'utf8').replace(${JSON.stringify(from)}, ${JSON.stringify(to)}));
`,
  );
  const r = warden(sb, ['messages', 'edit', String(id)], {
    env: { EDITOR: `${process.execPath} ${editor}`, VISUAL: '' },
  });
  assert.equal(r.status, 0, r.stderr);
}

/** Releases message `id` now (async: the sink runs in this process) and returns the sink's copies of it. */
async function release(id: number) {
  const r = await wardenAsync(sb, ['messages', 'send', String(id)]);
  assert.equal(r.code, 0, r.output);
  const m = showMessage(sb, id);
  assert.equal(m.state, 'sent');
  return sink.received.filter((x) => x.messageId === messageIdFor(m.idempotencyKey));
}

test('sendmail -t inside a guarded run is queued (To and Bcc as recipients), then delivered edited, once', async () => {
  writeFileSync(join(sb.ws, 'mail.py'), SENDMAIL_PY);
  const r = guarded(sb, ['python3', 'mail.py'], { extra: ['--net', 'host'] });
  assert.equal(r.status, 0, r.stderr + r.stdout);
  assert.match(r.stdout, /sendmail is .*core\/messages\/shim\/sendmail/);
  assert.equal(sink.received.length, 0, 'nothing is sent by the run itself');
  const m = listMessages(sb).find((x) => x.subject === 'Build report');
  assert.ok(m, 'the mail is in the queue');
  assert.equal(m.channel, 'smtp');
  assert.equal(m.state, 'queued');
  assert.equal(m.destination, 'alice@example.test, hidden@example.test');
  assert.equal(m.body.trim(), 'All tests passed.\n.\nnot the end with -i');
  assert.equal(m.run, runLog(sb, 'last').run.id);
  assert.match(m.process ?? '', /python3 mail\.py/);
  const events = runLog(sb, 'last').events.filter((e) => e.op === 'message');
  assert.deepEqual(
    events.map((e) => [e.path, e.decision]),
    [['smtp:alice@example.test, hidden@example.test', 'delay']],
  );

  editBody(m.id, 'All tests passed.', 'All tests passed (checked by a person).');
  const got = await release(m.id);
  assert.equal(got.length, 1);
  assert.equal(got[0]?.subject, 'Build report');
  assert.match(got[0]?.text ?? '', /^All tests passed \(checked by a person\)\./);
  assert.deepEqual(got[0]?.to, ['alice@example.test', 'hidden@example.test']);
  assert.doesNotMatch(got[0]?.raw ?? '', /^bcc:/im, 'the Bcc header is not sent');
});

test('smtplib inside a guarded run is queued; the relay gets the edited body, once', async () => {
  writeFileSync(join(sb.ws, 'smtp.py'), SMTPLIB_PY);
  const r = guarded(sb, ['python3', 'smtp.py'], { extra: ['--net', 'host'] });
  assert.equal(r.status, 0, r.stderr + r.stdout);
  assert.match(r.stdout, /refused: \{\}/);
  const m = listMessages(sb).find((x) => x.subject === 'From smtplib');
  assert.ok(m);
  assert.equal(m.body.trim(), 'python body');
  assert.equal(sink.received.filter((x) => x.subject === 'From smtplib').length, 0);
  editBody(m.id, 'python body', 'edited python body');
  const got = await release(m.id);
  assert.equal(got.length, 1);
  assert.equal(got[0]?.text, 'edited python body');
  assert.deepEqual(got[0]?.to, ['bob@example.test']);
});

test('daemon killed before the relay greeted it: after restart the mail arrives once (no loss)', async () => {
  writeFileSync(join(sb.ws, 'smtp.py'), SMTPLIB_PY.replace('From smtplib', 'Killed early'));
  assert.equal(guarded(sb, ['python3', 'smtp.py'], { extra: ['--net', 'host'] }).status, 0);
  const m = listMessages(sb).find((x) => x.subject === 'Killed early');
  assert.ok(m);
  sink.stall.greetingMs = 5000;
  const conns = sink.connections();
  const sending = wardenAsync(sb, ['messages', 'send', String(m.id)], { timeoutMs: 60_000 });
  await until('the daemon to connect to the relay', () => sink.connections() > conns);
  await killDaemon(sb);
  await sending;
  sink.stall.greetingMs = 0;
  assert.equal(
    sink.received.filter((x) => x.subject === 'Killed early').length,
    0,
    'nothing arrived before the kill',
  );
  await until('the restarted daemon to send it', () => showMessage(sb, m.id).state === 'sent', 60_000);
  const got = sink.received.filter((x) => x.subject === 'Killed early');
  assert.equal(got.length, 1);
  assert.equal(showMessage(sb, m.id).attempts, 2);
});

const netProblem = netnsProblem();
test('smtplib in an isolated run (own network namespace) reaches the listener through the port-2525 forward', async (t) => {
  if (netProblem) return t.skip(`no network namespace can be made here: ${netProblem}`);
  writeFileSync(join(sb.ws, 'smtp.py'), SMTPLIB_PY.replace('From smtplib', 'From the namespace'));
  const r = guarded(sb, ['python3', 'smtp.py'], { extra: ['--net', 'isolated'] });
  assert.equal(r.status, 0, r.stderr + r.stdout);
  assert.match(r.stdout, /refused: \{\}/);
  const m = listMessages(sb).find((x) => x.subject === 'From the namespace');
  assert.ok(m, 'the mail from inside the namespace is queued');
  assert.equal(m.run, runLog(sb, 'last').run.id);
  editBody(m.id, 'python body', 'edited in the namespace test');
  const got = await release(m.id);
  assert.equal(got.length, 1);
  assert.equal(got[0]?.text, 'edited in the namespace test');
});
