/**
 * The gateway inside a guarded run: the agent (an MCP client) runs under `warden run`, so `warden mcp` cannot
 * reach the daemon's control socket and goes through the run's outbox socket instead. Its calls are journaled
 * in that run, a send is queued for that run, and the release after the run ended still works.
 */
import { test, after, before } from 'node:test';
import assert from 'node:assert/strict';
import { destroySandbox, guarded, makeSandbox, runLog, wardenAsync, wardenBin } from '../helpers/warden.js';
import { ensureStateDir } from '../../core/util/paths.js';
import { netnsProblem } from '../../core/net/netns.js';
import { startSink, type Sink } from './sink.js';
import { agentJs, listMessages, mailServerJs, showMessage, type AgentResult } from './env.js';

const sb = makeSandbox('mcp-run');
let sink: Sink;
before(async () => {
  ensureStateDir(sb.state);
  sink = await startSink();
});
after(async () => {
  await sink.close();
  destroySandbox(sb);
});

async function gatewayInRun(net: 'host' | 'isolated', subject: string) {
  const spec = {
    command: process.execPath,
    args: [wardenBin, 'mcp', '--name', 'mail', '--', process.execPath, mailServerJs],
    env: { MAIL_SINK: `127.0.0.1:${sink.port}` },
    calls: [
      { name: 'echo', arguments: { text: 'inside' } },
      {
        name: 'send_email',
        arguments: { to: 'ops@example.test', subject, body: 'run body' },
      },
    ],
  };
  const r = guarded(sb, [process.execPath, agentJs, JSON.stringify(spec)], { extra: ['--net', net] });
  assert.equal(r.status, 0, r.stderr);
  const out = JSON.parse(r.stdout) as AgentResult;
  assert.equal(out.results[0]?.content[0]?.text, 'echo: inside');
  assert.match(out.results[1]?.content[0]?.text ?? '', /Queued for review/);
  const log = runLog(sb, 'last');
  assert.deepEqual(
    log.events.filter((e) => e.op === 'mcp_call').map((e) => [e.path, e.decision]),
    [
      ['mcp:mail/echo', 'allow'],
      ['mcp:mail/send_email', 'delay'],
    ],
  );
  const m = listMessages(sb).find((x) => x.subject === subject);
  assert.ok(m);
  assert.equal(m.run, log.run.id, 'the message belongs to the guarded run');
  const before = sink.received.length;
  const s = await wardenAsync(sb, ['messages', 'send', String(m.id)]);
  assert.equal(s.code, 0, s.output);
  assert.equal(showMessage(sb, m.id).state, 'sent');
  assert.equal(sink.received.length, before + 1);
  assert.equal(sink.received.at(-1)?.subject, subject);
  assert.equal(sink.received.at(-1)?.text, 'run body');
}

test('a gateway started by a guarded agent uses the run outbox; its send is queued for that run and released after it', () =>
  gatewayInRun('host', 'From the run'));

const netProblem = netnsProblem();
test('the same from an isolated run (own network namespace): the outbox socket is reachable there', async (t) => {
  if (netProblem) return t.skip(`no network namespace can be made here: ${netProblem}`);
  await gatewayInRun('isolated', 'From the namespace');
});
