/**
 * A local stand-in for the Anthropic Messages API, just enough to drive a real Claude Code through a scripted
 * session without network access: `POST /v1/messages` (SSE when `stream: true`, JSON otherwise),
 * `POST /v1/messages/count_tokens`, and a harmless answer to anything else Claude Code asks for at start-up.
 *
 * The script is a list of turns (a tool call or final text). Which turn answers a request is decided by the
 * number of `tool_result` blocks in its messages, so the side requests Claude Code makes (title generation,
 * quota checks, small-model calls — recognisable by carrying no tools) get a plain text answer and do not
 * advance the script. Every request is logged (method, path, model, tools present, tool_results seen) so a
 * failing test can show what Claude Code asked for.
 *
 * Also runnable on its own for exploration: `node dist/test/agents/fake-anthropic.js [script.json]` prints
 * the URL, then one JSON line per request.
 */
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import { readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import type { AddressInfo } from 'node:net';

/** One scripted assistant turn: call a tool, or answer with text (which ends Claude Code's loop). */
export type Turn = { tool: string; input: Record<string, unknown> } | { text: string };

/** One received request, as logged. */
export interface LoggedRequest {
  method: string;
  path: string;
  model?: string;
  stream?: boolean;
  /** Whether the request carried a non-empty `tools` array (main agent loop) or not (side request). */
  tools: boolean;
  /** Number of tools offered (the main loop offers Bash, Read, Edit, …). */
  toolCount: number;
  /** How many tool_result blocks its messages held (= the script turn answered, for tool requests). */
  toolResults: number;
  /** What was answered: `turn N`, `side text`, `count_tokens`, `404`, …. */
  answer: string;
  /** The tool_result blocks' text of the request, in order (so a test can see what a tool printed). */
  toolResultTexts?: { text: string; isError: boolean }[];
}

export interface FakeAnthropic {
  url: string;
  port: number;
  requests: LoggedRequest[];
  /** The request log as readable lines, for assertion messages. */
  describe(): string;
  close(): Promise<void>;
}

interface ContentBlock {
  type?: string;
  text?: string;
  content?: unknown;
  is_error?: boolean;
}

function textOf(content: unknown): string {
  if (typeof content === 'string') return content;
  if (Array.isArray(content))
    return content.map((c: ContentBlock) => (typeof c?.text === 'string' ? c.text : '')).join('');
  return '';
}

function toolResultsOf(messages: unknown): { text: string; isError: boolean }[] {
  const out: { text: string; isError: boolean }[] = [];
  if (!Array.isArray(messages)) return out;
  for (const m of messages as { content?: unknown }[]) {
    if (!Array.isArray(m?.content)) continue;
    for (const b of m.content as ContentBlock[])
      if (b?.type === 'tool_result') out.push({ text: textOf(b.content), isError: b.is_error === true });
  }
  return out;
}

let ids = 0;
const id = (prefix: string): string => `${prefix}_fake${(++ids).toString().padStart(6, '0')}`;

/** The content blocks and stop reason of one answer. */
function blocksFor(turn: Turn): { blocks: Record<string, unknown>[]; stop: string } {
  if ('tool' in turn)
    return {
      blocks: [{ type: 'tool_use', id: id('toolu'), name: turn.tool, input: turn.input }],
      stop: 'tool_use',
    };
  return { blocks: [{ type: 'text', text: turn.text }], stop: 'end_turn' };
}

function sendJson(res: ServerResponse, status: number, body: unknown): void {
  const s = JSON.stringify(body);
  res.writeHead(status, { 'content-type': 'application/json', 'content-length': Buffer.byteLength(s) });
  res.end(s);
}

function sendMessage(res: ServerResponse, model: string, turn: Turn, stream: boolean): void {
  const { blocks, stop } = blocksFor(turn);
  const usage = {
    input_tokens: 100,
    output_tokens: 20,
    cache_creation_input_tokens: 0,
    cache_read_input_tokens: 0,
  };
  const message = { id: id('msg'), type: 'message', role: 'assistant', model, stop_sequence: null };
  if (!stream) {
    sendJson(res, 200, { ...message, content: blocks, stop_reason: stop, usage });
    return;
  }
  res.writeHead(200, {
    'content-type': 'text/event-stream',
    'cache-control': 'no-cache',
    connection: 'keep-alive',
  });
  const ev = (type: string, data: Record<string, unknown>): void => {
    res.write(`event: ${type}\ndata: ${JSON.stringify({ type, ...data })}\n\n`);
  };
  ev('message_start', {
    message: { ...message, content: [], stop_reason: null, usage: { ...usage, output_tokens: 1 } },
  });
  ev('ping', {});
  blocks.forEach((b, index) => {
    if (b.type === 'tool_use') {
      ev('content_block_start', { index, content_block: { ...b, input: {} } });
      const json = JSON.stringify(b.input);
      // Two chunks, as the real API streams partial JSON.
      const mid = Math.floor(json.length / 2);
      for (const part of [json.slice(0, mid), json.slice(mid)])
        ev('content_block_delta', { index, delta: { type: 'input_json_delta', partial_json: part } });
    } else {
      ev('content_block_start', { index, content_block: { type: 'text', text: '' } });
      ev('content_block_delta', { index, delta: { type: 'text_delta', text: String(b.text) } });
    }
    ev('content_block_stop', { index });
  });
  ev('message_delta', { delta: { stop_reason: stop, stop_sequence: null }, usage: { output_tokens: 20 } });
  ev('message_stop', {});
  res.end();
}

async function readBody(req: IncomingMessage): Promise<string> {
  const chunks: Buffer[] = [];
  let size = 0;
  for await (const c of req as AsyncIterable<Buffer>) {
    size += c.length;
    if (size > 64 * 1024 * 1024) throw new Error('request body too large');
    chunks.push(c);
  }
  return Buffer.concat(chunks).toString('utf8');
}

/**
 * Starts the fake API on 127.0.0.1 (random port). `script[i]` answers a tool-carrying request whose
 * messages hold i tool_result blocks; past the end of the script, requests get a final text.
 */
export async function startFakeAnthropic(
  script: Turn[],
  opts: { onRequest?: (r: LoggedRequest) => void } = {},
): Promise<FakeAnthropic> {
  const requests: LoggedRequest[] = [];
  const handle = async (req: IncomingMessage, res: ServerResponse): Promise<void> => {
    const path = (req.url ?? '/').split('?')[0] ?? '/';
    const method = req.method ?? 'GET';
    const raw = method === 'POST' || method === 'PUT' ? await readBody(req) : '';
    let body: Record<string, unknown> = {};
    try {
      body = raw ? (JSON.parse(raw) as Record<string, unknown>) : {};
    } catch {
      /* not JSON: logged as such */
    }
    const tools = Array.isArray(body.tools) ? body.tools.length : 0;
    const results = toolResultsOf(body.messages);
    const entry: LoggedRequest = {
      method,
      path,
      model: typeof body.model === 'string' ? body.model : undefined,
      stream: body.stream === true ? true : undefined,
      tools: tools > 0,
      toolCount: tools,
      toolResults: results.length,
      answer: '',
    };
    if (results.length) entry.toolResultTexts = results;
    requests.push(entry);
    const model = entry.model ?? 'claude-fake';
    if (method === 'POST' && path === '/v1/messages/count_tokens') {
      entry.answer = 'count_tokens';
      sendJson(res, 200, { input_tokens: 100 });
    } else if (method === 'POST' && path === '/v1/messages') {
      if (tools > 0) {
        const turn = script[results.length] ?? { text: 'Done.' };
        entry.answer = script[results.length] ? `turn ${results.length}` : 'past script: text';
        sendMessage(res, model, turn, body.stream === true);
      } else {
        entry.answer = 'side text';
        sendMessage(res, model, { text: 'Project cleanup' }, body.stream === true);
      }
    } else if (method === 'HEAD' || (method === 'GET' && (path === '/' || path === '/v1'))) {
      entry.answer = 'ok';
      sendJson(res, 200, {});
    } else {
      // Anything else (model lists, org/profile look-ups, feature flags): a plain 404 is what an API that
      // lacks the endpoint answers, and Claude Code carries on without it.
      entry.answer = '404';
      sendJson(res, 404, {
        type: 'error',
        error: { type: 'not_found_error', message: `no ${method} ${path}` },
      });
    }
    opts.onRequest?.(entry);
  };
  const server: Server = createServer((req, res) => {
    handle(req, res).catch((e: unknown) => {
      if (!res.headersSent)
        sendJson(res, 500, { type: 'error', error: { type: 'api_error', message: String(e) } });
      else res.end();
    });
  });
  server.keepAliveTimeout = 1000;
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(0, '127.0.0.1', resolve);
  });
  const port = (server.address() as AddressInfo).port;
  return {
    url: `http://127.0.0.1:${port}`,
    port,
    requests,
    describe: () =>
      requests
        .map(
          (r) =>
            `${r.method} ${r.path} model=${r.model ?? '-'} stream=${r.stream ?? false} tools=${r.toolCount} ` +
            `tool_results=${r.toolResults} -> ${r.answer}`,
        )
        .join('\n'),
    close: () =>
      new Promise<void>((resolve) => {
        server.closeAllConnections();
        server.close(() => resolve());
      }),
  };
}

// Standalone: `node dist/test/agents/fake-anthropic.js [script.json]`.
if (process.argv[1] && fileURLToPath(import.meta.url) === process.argv[1]) {
  const file = process.argv[2];
  const script = file ? (JSON.parse(readFileSync(file, 'utf8')) as Turn[]) : [];
  const fake = await startFakeAnthropic(script, { onRequest: (r) => console.log(JSON.stringify(r)) });
  console.log(fake.url);
}
