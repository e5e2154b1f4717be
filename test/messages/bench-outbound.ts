/**
 * Benchmark (not a test; run by `npm run bench:outbound`, bench/outbound.mjs): prints
 *   1. added latency per MCP tools/call through `warden mcp` (with its daemon) against the same server direct;
 *   2. queue release throughput (messages/s through claim → SMTP → finish) against bare nodemailer sends to
 *      the same loopback SMTP sink,
 * each as a ratio against the bare run measured in the same invocation.
 * Run: `npm run build && npm run bench:outbound -- [calls] [messages]`.
 */
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { tmpdir } from 'node:os';
import { Client } from '@modelcontextprotocol/sdk/client/index.js';
import { StdioClientTransport } from '@modelcontextprotocol/sdk/client/stdio.js';
import { createTransport } from 'nodemailer';
import { MessageStore } from '../../core/messages/store.js';
import { MessageQueue } from '../../core/messages/queue.js';
import { wardenBin, destroySandbox, makeSandbox } from '../helpers/warden.js';
import { ensureStateDir } from '../../core/util/paths.js';
import { startSink } from './sink.js';
import { mailServerJs } from './env.js';

const CALLS = Number(process.argv[2] ?? 300);
const MESSAGES = Number(process.argv[3] ?? 200);

async function mcpCallMs(command: string, args: string[], env: Record<string, string>): Promise<number> {
  const base = Object.fromEntries(
    Object.entries(process.env).filter((e): e is [string, string] => e[1] !== undefined),
  );
  const client = new Client({ name: 'bench', version: '1' });
  await client.connect(
    new StdioClientTransport({ command, args, env: { ...base, ...env }, stderr: 'inherit' }),
  );
  for (let i = 0; i < 20; i++) await client.callTool({ name: 'echo', arguments: { text: 'warm' } });
  const t0 = performance.now();
  for (let i = 0; i < CALLS; i++) await client.callTool({ name: 'echo', arguments: { text: `n${i}` } });
  const ms = (performance.now() - t0) / CALLS;
  await client.close();
  return ms;
}

const sb = makeSandbox('bench-outbound');
ensureStateDir(sb.state);
const sink = await startSink();
try {
  const bare = await mcpCallMs(process.execPath, [mailServerJs], {});
  const env = Object.fromEntries(
    Object.entries(sb.env).filter((e): e is [string, string] => e[1] !== undefined),
  );
  const gated = await mcpCallMs(
    process.execPath,
    [wardenBin, 'mcp', '--name', 'bench', '--', process.execPath, mailServerJs],
    env,
  );
  console.log(
    `MCP tools/call (echo, ${CALLS} calls): direct ${bare.toFixed(3)} ms, through warden mcp ${gated.toFixed(3)} ms ` +
      `(+${(gated - bare).toFixed(3)} ms per call, ratio ${(gated / bare).toFixed(2)}x)`,
  );

  const t = createTransport({ host: '127.0.0.1', port: sink.port, secure: false, ignoreTLS: true });
  const b0 = performance.now();
  for (let i = 0; i < MESSAGES; i++)
    await t.sendMail({ from: 'a@example.test', to: 'b@example.test', subject: `bare ${i}`, text: 'x' });
  const bareRate = MESSAGES / ((performance.now() - b0) / 1000);
  t.close();

  const dir = mkdtempSync(join(tmpdir(), 'warden-bench-queue-'));
  writeFileSync(join(dir, 'smtp.yaml'), `host: 127.0.0.1\nport: ${sink.port}\n`, { mode: 0o600 });
  const store = new MessageStore(join(dir, 'messages.db'));
  const queue = new MessageQueue({ store, stateDir: dir, log: () => {}, changed: () => {} });
  for (let i = 0; i < MESSAGES; i++)
    store.insert({
      channel: 'smtp',
      destination: 'b@example.test',
      subject: `queued ${i}`,
      body: 'x',
      attachments: [],
      run: null,
      pid: null,
      process: null,
      releaseAt: Date.now(),
      payload: { channel: 'smtp', from: 'a@example.test', attachments: [] },
    });
  const q0 = performance.now();
  const n = await queue.releaseDue(Date.now() + 1);
  const queueRate = n / ((performance.now() - q0) / 1000);
  store.close();
  rmSync(dir, { recursive: true, force: true });
  console.log(
    `queue release (${n} mails, one SMTP connection each, as the queue does): ${queueRate.toFixed(1)} msg/s; ` +
      `bare nodemailer sends ${bareRate.toFixed(1)} msg/s (ratio ${(queueRate / bareRate).toFixed(2)}x)`,
  );
} finally {
  await sink.close();
  destroySandbox(sb);
}
