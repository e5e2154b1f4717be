/**
 * Reading MCP's stdio framing from an untrusted peer (the agent): one JSON-RPC message per `\n`-terminated
 * line (MCP spec, "Transports: stdio"), with a size cap. Every line becomes either a validated message or a
 * ready-made JSON-RPC error answer (parse error -32700, invalid request -32600), so a malformed or oversize
 * frame is answered cleanly and never throws.
 */
import type { Readable } from 'node:stream';
import { readLines } from '../api/framing.js';
import { JSONRPCMessageSchema, type JSONRPCMessage } from '@modelcontextprotocol/sdk/types.js';

/** Largest frame accepted from the agent by default, in bytes. */
export const MAX_FRAME_BYTES = 8 * 1024 * 1024;

export type JsonRpcErrorFrame = {
  jsonrpc: '2.0';
  id: string | number | null;
  error: { code: number; message: string };
};

export type Frame = { ok: true; message: JSONRPCMessage } | { ok: false; answer: JsonRpcErrorFrame };

const errorFrame = (id: string | number | null, code: number, message: string): Frame => ({
  ok: false,
  answer: { jsonrpc: '2.0', id, error: { code, message } },
});

/** Classifies one line (without its newline). Pure; never throws. */
export function parseFrame(line: string): Frame {
  let raw: unknown;
  try {
    raw = JSON.parse(line);
  } catch (err) {
    return errorFrame(null, -32700, `Parse error: ${(err as Error).message.slice(0, 200)}`);
  }
  const r = JSONRPCMessageSchema.safeParse(raw);
  if (r.success) return { ok: true, message: r.data };
  const id = (raw as { id?: unknown } | null)?.id;
  const okId = typeof id === 'string' || (typeof id === 'number' && Number.isFinite(id)) ? id : null;
  const where = r.error.issues[0];
  return errorFrame(
    okId,
    -32600,
    `Invalid Request: not a JSON-RPC 2.0 message${where ? ` (${where.path.join('.') || 'top'}: ${where.message})` : ''}`,
  );
}

/**
 * Calls `onFrame` for each line of `input`. A line over `maxBytes` yields one -32600 answer and is skipped up
 * to its newline (the buffer never grows past `maxBytes`). Blank lines are ignored. `onEnd` at end of input.
 */
export function readFrames(
  input: Readable,
  onFrame: (f: Frame) => void,
  onEnd: () => void,
  maxBytes = MAX_FRAME_BYTES,
): void {
  readLines(
    input,
    maxBytes,
    (line) => {
      const text = line.replace(/\r$/, '');
      if (text.trim() !== '') onFrame(parseFrame(text));
    },
    () => onFrame(errorFrame(null, -32600, `Invalid Request: message over ${maxBytes} bytes`)),
  );
  input.on('end', onEnd);
  input.on('close', onEnd);
}
