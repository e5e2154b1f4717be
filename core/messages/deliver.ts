/**
 * Performs a released message: SMTP through the user's relay (nodemailer), MCP by starting the stored server
 * command and calling the tool (the SDK's client over stdio). Both carry the message's idempotency key —
 * SMTP as the Message-ID `<KEY@warden.invalid>`, MCP as `_meta["warden/idempotency-key"]` — so a receiver that
 * keeps what it has seen can drop the repeat a crash-recovery resend may cause (see queue.ts for the guarantee).
 */
import { createTransport } from 'nodemailer';
import { Client } from '@modelcontextprotocol/sdk/client/index.js';
import { StdioClientTransport } from '@modelcontextprotocol/sdk/client/stdio.js';
import type { Message } from '../api/contract-messages.js';
import type { McpPayload, SmtpPayload } from './payload.js';
import type { RelayConfig } from './relay.js';
import { WardenError } from '../util/errors.js';

/** Message-ID header value for a message key (RFC 5322 §3.6.4 msg-id; `.invalid` per RFC 2606). */
export function messageIdFor(key: string): string {
  return `<${key}@warden.invalid>`;
}

/** Splits a destination like `a@x, b@y` into addresses. */
export function recipients(destination: string): string[] {
  return destination
    .split(/[,;\s]+/)
    .map((s) => s.trim())
    .filter(Boolean);
}

/**
 * Sends a mail message through `relay`. Returns the relay's receipt (`{messageId, response, accepted}`).
 * @throws the SMTP error (connection refused, 5xx…) — the caller marks the message failed with it.
 */
export async function deliverSmtp(m: Message, p: SmtpPayload, relay: RelayConfig): Promise<unknown> {
  const to = recipients(m.destination);
  if (to.length === 0) throw new WardenError('message-no-recipient', `message ${m.id} has no recipient`);
  const transport = createTransport({
    host: relay.host,
    port: relay.port,
    secure: relay.secure,
    requireTLS: relay.require_tls,
    auth: relay.auth,
    connectionTimeout: 30_000,
    greetingTimeout: 30_000,
    socketTimeout: 60_000,
  });
  try {
    const from = relay.from ?? p.from;
    const info = await transport.sendMail({
      envelope: { from, to },
      from,
      to: m.destination,
      cc: p.cc,
      subject: m.subject,
      text: m.body,
      html: m.edited ? undefined : p.html,
      messageId: messageIdFor(m.idempotencyKey),
      headers: { 'X-Warden-Message': String(m.id) },
      attachments: p.attachments.map((a) => ({
        filename: a.filename,
        contentType: a.contentType,
        content: Buffer.from(a.base64, 'base64'),
      })),
    });
    return { messageId: info.messageId, response: info.response, accepted: info.accepted };
  } finally {
    transport.close();
  }
}

/**
 * Starts the MCP server `p.server` (its command, args, environment and cwd as the gateway saw them), calls
 * `p.tool` with `p.arguments`, and stops it. Returns the tool result.
 * @throws WardenError('mcp-tool-error') when the tool reports `isError`, or the transport / timeout error.
 */
export async function deliverMcp(m: Message, p: McpPayload, timeoutMs = 120_000): Promise<unknown> {
  const transport = new StdioClientTransport({
    command: p.server.command,
    args: p.server.args,
    env: p.server.env,
    cwd: p.server.cwd,
    stderr: 'ignore',
  });
  const client = new Client({ name: 'warden-release', version: '0.1.0' });
  try {
    await client.connect(transport, { timeout: timeoutMs });
    const result = await client.callTool(
      { name: p.tool, arguments: p.arguments, _meta: { 'warden/idempotency-key': m.idempotencyKey } },
      undefined,
      { timeout: timeoutMs },
    );
    if (result.isError) {
      const text = Array.isArray(result.content)
        ? result.content.map((c) => (c.type === 'text' ? c.text : `[${c.type}]`)).join('\n')
        : '';
      throw new WardenError(
        'mcp-tool-error',
        `${p.server.name}/${p.tool} reported an error: ${text.slice(0, 2000)}`,
      );
    }
    return result;
  } finally {
    await client.close().catch(() => {});
  }
}
