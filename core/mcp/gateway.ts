/**
 * `warden mcp --name NAME -- SERVER_CMD ARGS…`: a stdio MCP proxy that sits where the agent's configuration
 * names the server. It starts the real server (the SDK's stdio client transport) and passes every JSON-RPC
 * message through both ways, except `tools/call` requests, which it first asks the daemon about (`mcp.call`):
 *   allow → forwarded; deny → answered at once with an error result naming the rule;
 *   queue → answered at once with a result saying the message is queued for review, its id and release time
 *           (the daemon performs the call itself at release, by starting the same server command).
 * If the daemon cannot be asked, the call is refused (fail closed). Frames from the agent are size-capped and
 * validated (frames.ts): a bad frame gets a JSON-RPC error and the proxy carries on.
 */
import { StdioClientTransport } from '@modelcontextprotocol/sdk/client/stdio.js';
import type { JSONRPCMessage } from '@modelcontextprotocol/sdk/types.js';
import { DaemonClient } from '../api/client.js';
import { mcpCallResult, mcpOpenResult, type McpCallResult } from '../api/contract-messages.js';
import { errorMessage } from '../util/errors.js';
import { readFrames, MAX_FRAME_BYTES, type JsonRpcErrorFrame } from './frames.js';

export interface GatewayOptions {
  name: string;
  command: string;
  args: string[];
  /** Connects to the daemon (control socket, or the run's outbox inside a guarded run). */
  connect: () => Promise<DaemonClient>;
  /** Run token from WARDEN_OUTBOX_TOKEN when connecting through a run's outbox. */
  token?: string;
  maxFrameBytes?: number;
  input?: NodeJS.ReadableStream;
  output?: NodeJS.WritableStream;
  log?: (line: string) => void;
}

/** Environment handed to the server (and stored for release): ours without Warden's own run variables. */
export function serverEnv(env: NodeJS.ProcessEnv = process.env): Record<string, string> {
  return Object.fromEntries(
    Object.entries(env).filter(
      (e): e is [string, string] =>
        e[1] !== undefined && !/^WARDEN_(OUTBOX|OUTBOX_TOKEN|RUN|SMTP)$/.test(e[0]),
    ),
  );
}

/** The text the agent gets for a queued call. */
export function queuedText(r: McpCallResult): string {
  const m = r.message;
  if (!m) return 'Queued for review.';
  return (
    `Queued for review: Warden holds this as outbound message ${m.id} (${m.destination}). It will be sent at ` +
    `${new Date(m.releaseAt).toISOString()} unless a person edits or cancels it first ` +
    `(\`warden messages show ${m.id}\`). It has NOT been sent yet; do not retry.`
  );
}

/** Runs the gateway until the agent closes stdin or the server exits; resolves with an exit code. */
export async function runGateway(o: GatewayOptions): Promise<number> {
  const input = (o.input ?? process.stdin) as NodeJS.ReadableStream & import('node:stream').Readable;
  const output = o.output ?? process.stdout;
  const log = o.log ?? ((l: string) => process.stderr.write(`warden mcp: ${l}\n`));
  const env = serverEnv();
  const cwd = process.cwd();

  let client: DaemonClient | null = null;
  let session: string | null = null;
  /** Opens (or reopens after a daemon restart) the gateway session. */
  const ensureSession = async (): Promise<string> => {
    if (client && session) return session;
    client = await o.connect();
    const r = mcpOpenResult.parse(
      await client.call('mcp.open', {
        name: o.name,
        command: o.command,
        args: o.args,
        env,
        cwd,
        pid: process.pid,
        ...(o.token ? { token: o.token } : {}),
      }),
    );
    session = r.session;
    return session;
  };
  const dropSession = () => {
    client?.close();
    client = null;
    session = null;
  };

  const server = new StdioClientTransport({ command: o.command, args: o.args, env, cwd, stderr: 'inherit' });
  const write = (m: JSONRPCMessage | JsonRpcErrorFrame) => output.write(JSON.stringify(m) + '\n');
  /** tools/call requests forwarded to the server: id → tool name (to journal failures). */
  const forwarded = new Map<string | number, string>();

  let finished: (code: number) => void = () => {};
  const done = new Promise<number>((resolve) => (finished = resolve));
  let ended = false;
  const end = (code: number) => {
    if (ended) return;
    ended = true;
    const s = session;
    const c = client;
    void (async () => {
      if (c && s) await c.call('mcp.close', { session: s }).catch(() => {});
      c?.close();
      await server.close().catch(() => {});
      finished(code);
    })();
  };

  server.onmessage = (m) => {
    if ('id' in m && m.id !== undefined && forwarded.has(m.id) && ('result' in m || 'error' in m)) {
      const tool = forwarded.get(m.id) as string;
      forwarded.delete(m.id);
      const failed = 'error' in m || (m.result as { isError?: boolean }).isError === true;
      if (failed && client && session) {
        const error = 'error' in m ? m.error.message : 'the tool reported isError';
        void client.call('mcp.result', { session, tool, ok: false, error }).catch(() => {});
      }
    }
    write(m);
  };
  server.onerror = (err) => log(`server ${o.name}: ${err.message}`);
  server.onclose = () => end(0);
  try {
    await server.start();
  } catch (err) {
    log(`could not start the MCP server ${o.command}: ${errorMessage(err)}`);
    return 1;
  }

  const decide = async (tool: string, args: Record<string, unknown>): Promise<McpCallResult> => {
    for (let attempt = 0; ; attempt++) {
      try {
        const s = await ensureSession();
        return mcpCallResult.parse(
          await (client as DaemonClient).call('mcp.call', { session: s, tool, arguments: args }),
        );
      } catch (err) {
        const code = (err as { code?: string }).code;
        dropSession();
        if (attempt === 0 && (code === 'mcp-no-session' || code === 'daemon-gone')) continue;
        throw err;
      }
    }
  };

  const onToolCall = async (
    m: JSONRPCMessage & { id: string | number; params?: Record<string, unknown> },
  ) => {
    const params = m.params ?? {};
    const tool = typeof params.name === 'string' ? params.name : null;
    const args = params.arguments ?? {};
    if (tool === null || typeof args !== 'object' || args === null || Array.isArray(args)) {
      write({
        jsonrpc: '2.0',
        id: m.id,
        error: { code: -32602, message: 'Invalid params: tools/call needs name and an arguments object' },
      });
      return;
    }
    let d: McpCallResult;
    try {
      d = await decide(tool, args as Record<string, unknown>);
    } catch (err) {
      write({
        jsonrpc: '2.0',
        id: m.id,
        result: {
          content: [
            {
              type: 'text',
              text: `Warden could not check this call, so it was not made: ${errorMessage(err)}`,
            },
          ],
          isError: true,
        },
      } as JSONRPCMessage);
      return;
    }
    if (d.decision === 'allow') {
      forwarded.set(m.id, tool);
      await server.send(m);
      return;
    }
    const text =
      d.decision === 'deny' ? `Warden denied ${o.name}/${tool} (rule ${d.rule}): ${d.why}` : queuedText(d);
    write({
      jsonrpc: '2.0',
      id: m.id,
      result: { content: [{ type: 'text', text }], isError: d.decision === 'deny' },
    } as JSONRPCMessage);
  };

  readFrames(
    input,
    (f) => {
      if (!f.ok) return void write(f.answer);
      const m = f.message;
      if ('method' in m && m.method === 'tools/call') {
        // A tools/call sent as a notification (no id) cannot be answered; it is dropped, never passed unchecked.
        if (!('id' in m)) return void log('dropped a tools/call notification (it has no id)');
        return void onToolCall(m as never).catch((err) => log(`tools/call failed: ${errorMessage(err)}`));
      }
      void server.send(m).catch((err) => log(`could not pass a message to the server: ${errorMessage(err)}`));
    },
    () => end(0),
    o.maxFrameBytes ?? MAX_FRAME_BYTES,
  );
  return done;
}
