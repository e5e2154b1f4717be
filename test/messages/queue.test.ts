/**
 * The queue on a real SQLite file, releasing through a real SMTP relay (the test sink on loopback): queue,
 * edit, cancel, timer release, a release race, crash recovery (a message left in `sending`), and a relay that
 * refuses. No daemon here: the daemon-level behaviour is in mcp-gateway.test.ts and mail.test.ts.
 */
import { test, after } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync, writeFileSync, statSync } from 'node:fs';
import { join } from 'node:path';
import { tmpdir } from 'node:os';
import { MessageStore, type NewMessage } from '../../core/messages/store.js';
import { MessageQueue, type MessageChange } from '../../core/messages/queue.js';
import type { Message } from '../../core/api/contract-messages.js';
import { deliverSmtp, messageIdFor } from '../../core/messages/deliver.js';
import { startSink } from './sink.js';

const root = mkdtempSync(join(tmpdir(), 'warden-queue-'));
const sink = await startSink();
after(async () => {
  await sink.close();
  rmSync(root, { recursive: true, force: true });
});

function relay(dir: string, port = sink.port) {
  writeFileSync(join(dir, 'smtp.yaml'), `host: 127.0.0.1\nport: ${port}\n`, { mode: 0o600 });
}

function setup(name: string) {
  const dir = mkdtempSync(join(root, `${name}-`));
  relay(dir);
  const store = new MessageStore(join(dir, 'messages.db'));
  const changes: [number, MessageChange][] = [];
  const queue = new MessageQueue({
    store,
    stateDir: dir,
    log: () => {},
    changed: (m, what) => changes.push([m.id, what]),
  });
  return { dir, store, queue, changes };
}

const mail = (subject: string, body: string, releaseAt = Date.now() + 3_600_000): NewMessage => ({
  channel: 'smtp',
  destination: 'bob@example.test',
  subject,
  body,
  attachments: [],
  run: null,
  pid: null,
  process: null,
  releaseAt,
  payload: { channel: 'smtp', from: 'agent@example.test', attachments: [] },
});

const forKey = (m: Message) => sink.received.filter((r) => r.messageId === messageIdFor(m.idempotencyKey));

test('messages.db is private, migrated once, and a queued message survives reopening', () => {
  const { dir, store } = setup('open');
  const m = store.insert(mail('hello', 'first body'));
  assert.equal(statSync(join(dir, 'messages.db')).mode & 0o777, 0o600);
  store.close();
  const again = new MessageStore(join(dir, 'messages.db'));
  const got = again.get(m.id);
  assert.equal(got.state, 'queued');
  assert.equal(got.body, 'first body');
  assert.match(got.idempotencyKey, /^[0-9a-f]{32}$/);
  again.close();
});

test('an edited message is delivered once with the edited subject, body and recipient', async () => {
  const { queue, store, changes } = setup('edit');
  const m = queue.enqueue(mail('draft', 'original body'));
  queue.edit(m.id, { subject: 'final', body: 'edited body', destination: 'carol@example.test' });
  const sent = await queue.sendNow(m.id);
  assert.equal(sent.state, 'sent');
  assert.equal(sent.attempts, 1);
  const got = forKey(m);
  assert.equal(got.length, 1);
  assert.equal(got[0]?.subject, 'final');
  assert.equal(got[0]?.text, 'edited body');
  assert.deepEqual(got[0]?.to, ['carol@example.test']);
  assert.deepEqual(
    changes.filter(([id]) => id === m.id).map(([, w]) => w),
    ['queued', 'edited', 'sending', 'sent'],
  );
  assert.throws(() => queue.edit(m.id, { body: 'too late' }), /message \d+ is sent/);
  store.close();
});

test('a cancelled message is never sent and cannot be sent later', async () => {
  const { queue, store } = setup('cancel');
  const m = queue.enqueue(mail('cancel me', 'never'));
  assert.equal(queue.cancel(m.id).state, 'cancelled');
  await assert.rejects(queue.sendNow(m.id), /already cancelled/);
  assert.equal(await queue.releaseDue(Date.now() + 7_200_000), 0);
  assert.equal(forKey(m).length, 0);
  store.close();
});

test('the timer releases a message when its release time comes', async () => {
  const { queue, store } = setup('timer');
  const m = queue.enqueue(mail('timed', 'by the timer', Date.now() + 300));
  await queue.start();
  const end = Date.now() + 15_000;
  while (store.get(m.id).state !== 'sent' && Date.now() < end) await new Promise((r) => setTimeout(r, 50));
  assert.equal(store.get(m.id).state, 'sent');
  assert.equal(forKey(m).length, 1);
  await queue.close();
  store.close();
});

test('"send now" racing the timer delivers once', async () => {
  const { queue, store } = setup('race');
  const m = queue.enqueue(mail('race', 'only once', Date.now()));
  const [a, b] = await Promise.all([queue.sendNow(m.id), queue.releaseDue(), queue.sendNow(m.id)]);
  assert.equal(a.state, 'sent');
  assert.equal(typeof b, 'number');
  assert.equal(forKey(m).length, 1);
  assert.equal(store.get(m.id).attempts, 1);
  store.close();
});

test('a message a crash left in sending is sent again with the same key at start (the sink sees one Message-ID)', async () => {
  const { dir, store } = setup('crash');
  const m = store.insert(mail('crashed', 'mid-send'));
  // What a daemon killed after the commit point leaves behind, after the relay had already taken the mail:
  assert.equal(store.claim(m.id), true);
  await deliverSmtp(
    store.get(m.id),
    { channel: 'smtp', from: 'agent@example.test', attachments: [] },
    { host: '127.0.0.1', port: sink.port, secure: false, require_tls: false },
  );
  store.close();
  // The "restarted daemon":
  const store2 = new MessageStore(join(dir, 'messages.db'));
  const logs: string[] = [];
  const queue = new MessageQueue({
    store: store2,
    stateDir: dir,
    log: (l) => logs.push(l),
    changed: () => {},
  });
  await queue.start();
  const after = store2.get(m.id);
  assert.equal(after.state, 'sent');
  assert.equal(after.attempts, 2, 'the recovery counted as a second attempt');
  const got = forKey(m);
  assert.equal(got.length, 2, 'the relay saw the resend');
  assert.equal(
    new Set(got.map((g) => g.messageId)).size,
    1,
    'with the same Message-ID, so a deduping receiver keeps one',
  );
  assert.ok(logs.some((l) => l.includes('sending again with the same key')));
  await queue.close();
  store2.close();
});

test('a relay that refuses marks the message failed with its error; send again retries it', async () => {
  const { dir, queue, store } = setup('fail');
  relay(dir, 1); // nothing listens on port 1
  const m = queue.enqueue(mail('refused', 'retry me'));
  const failed = await queue.sendNow(m.id);
  assert.equal(failed.state, 'failed');
  assert.match(failed.error ?? '', /ECONNREFUSED|connect/i);
  relay(dir);
  const sent = await queue.sendNow(m.id);
  assert.equal(sent.state, 'sent');
  assert.equal(sent.attempts, 2);
  assert.equal(forKey(m).length, 1);
  store.close();
});

test('no relay configured: the error names smtp.yaml', async () => {
  const { dir, queue, store } = setup('norelay');
  rmSync(join(dir, 'smtp.yaml'));
  const m = queue.enqueue(mail('x', 'y'));
  const r = await queue.sendNow(m.id);
  assert.equal(r.state, 'failed');
  assert.match(r.error ?? '', /smtp\.yaml/);
  store.close();
});

test('a message stuck in sending cannot be sent by hand before recovery resends it (one sender only)', async () => {
  const { queue, store } = setup('stuck-send');
  const m = store.insert(mail('stuck', 'one sender'));
  assert.equal(store.claim(m.id), true);
  await assert.rejects(queue.sendNow(m.id), /being sent \(or recovered after a restart\)/);
  assert.equal(forKey(m).length, 0);
  await queue.start();
  assert.equal(store.get(m.id).state, 'sent');
  assert.equal(forKey(m).length, 1);
  await queue.close();
  store.close();
});
