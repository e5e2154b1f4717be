/**
 * The outbound policy: which tools count as sends by default, `mcp:` rules (server / tool / argument globs,
 * first match wins across bands), per-server send lists, `messages.release_after`, and a daemon whose queue
 * releases on its own timer when that delay passes.
 */
import { test, after } from 'node:test';
import assert from 'node:assert/strict';
import { existsSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { DaemonClient } from '../../core/api/client.js';
import { join } from 'node:path';
import { tmpdir } from 'node:os';
import {
  decideMcpCall,
  isDefaultSendTool,
  loadOutboundPolicy,
  DEFAULT_RELEASE_AFTER_MS,
} from '../../core/mcp/policy.js';
import { spawn } from 'node:child_process';
import { destroySandbox, guarded, makeSandbox, warden, wardenBin } from '../helpers/warden.js';
import { ensureStateDir } from '../../core/util/paths.js';
import { startSink } from './sink.js';
import { listMessages, until } from './env.js';

const dir = mkdtempSync(join(tmpdir(), 'warden-mcp-policy-'));
after(() => rmSync(dir, { recursive: true, force: true }));

test('default send tools: send/post/publish/reply/comment/email/message words and create_issue/PR; reads are not', () => {
  for (const t of [
    'send_email',
    'sendMessage',
    'post_message',
    'slack_post',
    'publish',
    'reply_to_thread',
    'add_comment',
    'create_issue',
    'github.create_pull_request',
    'gmail-send',
    'email',
  ])
    assert.equal(isDefaultSendTool(t), true, t);
  for (const t of [
    'read_file',
    'list_messages',
    'get_comments',
    'search_issues',
    'echo',
    'write_file',
    'get_email',
    'postgres_query_posts',
  ])
    assert.equal(isDefaultSendTool(t), false, t);
});

test('mcp rules: first match wins across bands; args globs; per-server send lists replace the default', () => {
  const a = join(dir, '40-outbound.yaml');
  const b = join(dir, '60-user.yaml');
  writeFileSync(
    a,
    `mcp:
  rules:
    - id: deny-prod-db
      why: no writes to prod
      server: db
      tool: [execute, run_sql]
      args: { database: 'prod*' }
      decision: deny
  servers:
    slack: { send_tools: ['chat_*'] }
messages:
  release_after: 10m
`,
  );
  writeFileSync(
    b,
    `messages:\n  release_after: 90s\nmcp:\n  rules:\n    - {id: allow-db, why: ok, server: db, decision: allow}\n`,
  );
  const p = loadOutboundPolicy([a, b]);
  assert.equal(p.releaseAfterMs, 90_000, 'the later band wins');
  assert.deepEqual(decideMcpCall(p, 'db', 'execute', { database: 'prod-eu' }), {
    decision: 'deny',
    rule: 'deny-prod-db',
    why: 'no writes to prod',
  });
  assert.equal(decideMcpCall(p, 'db', 'execute', { database: 'staging' }).rule, 'allow-db');
  assert.equal(decideMcpCall(p, 'db', 'execute', {}).rule, 'allow-db', 'a missing argument does not match');
  assert.equal(decideMcpCall(p, 'slack', 'chat_postMessage', {}).decision, 'queue');
  assert.equal(decideMcpCall(p, 'slack', 'send_email', {}).decision, 'allow', 'slack has its own list');
  assert.equal(decideMcpCall(p, 'gmail', 'send_email', {}).decision, 'queue');
  assert.equal(loadOutboundPolicy([]).releaseAfterMs, DEFAULT_RELEASE_AFTER_MS);
});

test('a bad section is skipped with a log line naming the file; warden policy check reports it', () => {
  const bad = join(dir, '70-bad.yaml');
  writeFileSync(bad, 'mcp:\n  rules:\n    - {id: x, why: y, decision: maybe}\n');
  const logs: string[] = [];
  const p = loadOutboundPolicy([bad], (l) => logs.push(l));
  assert.equal(p.rules.length, 0);
  assert.match(logs[0] ?? '', /70-bad\.yaml were skipped/);
  const sb = makeSandbox('mcp-policy-check');
  try {
    const r = warden(sb, ['policy', 'check', bad]);
    assert.notEqual(r.status, 0);
    assert.match(r.stderr + r.stdout, /decision/);
    const good = join(dir, '40-outbound.yaml');
    const g = warden(sb, ['policy', 'check', good]);
    assert.equal(g.status, 0, g.stderr + g.stdout);
  } finally {
    destroySandbox(sb);
  }
});

test('the daemon releases a queued mail by itself once messages.release_after has passed', async () => {
  const sb = makeSandbox('mcp-release-timer');
  const sink = await startSink();
  try {
    ensureStateDir(sb.state);
    writeFileSync(join(sb.state, 'smtp.yaml'), `host: 127.0.0.1\nport: ${sink.port}\n`, { mode: 0o600 });
    writeFileSync(join(sb.state, 'policies', '50-release.yaml'), 'messages:\n  release_after: 2s\n');
    writeFileSync(
      join(sb.ws, 'mail.py'),
      'import subprocess\nsubprocess.run(["sendmail", "ops@example.test"], input=b"Subject: timed\\n\\nby the timer\\n", check=True)\n',
    );
    const r = guarded(sb, ['python3', 'mail.py'], { extra: ['--net', 'host'] });
    assert.equal(r.status, 0, r.stderr);
    const m = listMessages(sb)[0];
    assert.ok(m);
    assert.ok(
      m.releaseAt - m.createdAt >= 1900 && m.releaseAt - m.createdAt < 5000,
      `release in ${m.releaseAt - m.createdAt} ms`,
    );
    await until('the timer release', () => sink.received.length === 1, 30_000);
    assert.equal(sink.received[0]?.text, 'by the timer');
    await until('the sent state', () => listMessages(sb)[0]?.state === 'sent', 10_000);
  } finally {
    await sink.close();
    destroySandbox(sb);
  }
});

test('a daemon with messages waiting for release does not exit when idle; it sends them, then exits', async () => {
  const sb = makeSandbox('mcp-release-idle');
  const sink = await startSink();
  // a daemon that would stop after 1 s without clients or runs
  const daemon = spawn(process.execPath, [wardenBin, 'daemon', '--idle-exit', '1'], {
    env: sb.env,
    stdio: 'ignore',
  });
  let exitedAt = 0;
  daemon.once('exit', () => (exitedAt = Date.now()));
  try {
    ensureStateDir(sb.state);
    writeFileSync(join(sb.state, 'smtp.yaml'), `host: 127.0.0.1\nport: ${sink.port}\n`, { mode: 0o600 });
    writeFileSync(join(sb.state, 'policies', '50-release.yaml'), 'messages:\n  release_after: 8s\n');
    writeFileSync(
      join(sb.ws, 'mail.py'),
      'import subprocess\nsubprocess.run(["sendmail", "ops@example.test"], input=b"Subject: idle\\n\\nwaits\\n", check=True)\n',
    );
    await until('the daemon listening', () => existsSync(join(sb.state, 'warden.sock')), 10_000);
    // a client stays connected until the run has queued its mail, so the idle timer starts only after that
    const client = await DaemonClient.connect(join(sb.state, 'warden.sock'));
    const r = guarded(sb, ['python3', 'mail.py'], { extra: ['--net', 'host'] });
    client.close();
    assert.equal(r.status, 0, r.stderr);
    const m = listMessages(sb)[0];
    assert.ok(m && m.releaseAt - m.createdAt >= 7900, 'queued with the policy delay');
    await until('the release', () => sink.received.length === 1, 40_000);
    assert.equal(exitedAt, 0, 'the daemon stayed up (idle, no runs) while the message waited');
    assert.ok(Date.now() >= m.releaseAt, 'released at its time, not before');
    assert.equal(sink.received[0]?.text, 'waits');
    await until('the idle exit once nothing waits', () => exitedAt !== 0, 15_000);
  } finally {
    daemon.kill('SIGKILL');
    await sink.close();
    destroySandbox(sb);
  }
});
