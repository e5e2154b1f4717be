/**
 * What the daemon needs to perform a queued send later, after the agent is gone: for SMTP the envelope and the
 * parts of the mail; for MCP the server command (with its environment) and the tool call. Stored as JSON in
 * messages.db (0600) and validated with zod when read back.
 */
import { z } from 'zod';

export const mcpServerSpec = z.object({
  name: z.string(),
  command: z.string(),
  args: z.array(z.string()),
  env: z.record(z.string(), z.string()),
  cwd: z.string(),
});
export type McpServerSpec = z.infer<typeof mcpServerSpec>;

export const smtpPayload = z.object({
  channel: z.literal('smtp'),
  /** Envelope sender (MAIL FROM) and the From header. */
  from: z.string(),
  /** Header recipients as written (`To`, `Cc`); the envelope goes to `destination` (edited or not). */
  cc: z.string().optional(),
  /** Original Subject / body text live in the message row; html is dropped once the body is edited. */
  html: z.string().optional(),
  attachments: z.array(z.object({ filename: z.string(), contentType: z.string(), base64: z.string() })),
});

export const mcpPayload = z.object({
  channel: z.literal('mcp'),
  server: mcpServerSpec,
  tool: z.string(),
  arguments: z.record(z.string(), z.unknown()),
  /** Which argument carries the subject / body / destination, so an edit changes the call. */
  fields: z.object({
    subject: z.string().optional(),
    body: z.string().optional(),
    destination: z.string().optional(),
  }),
});

export const deliveryPayload = z.discriminatedUnion('channel', [smtpPayload, mcpPayload]);
export type DeliveryPayload = z.infer<typeof deliveryPayload>;
export type SmtpPayload = z.infer<typeof smtpPayload>;
export type McpPayload = z.infer<typeof mcpPayload>;

/** Argument names an MCP send tool typically uses, most specific first. */
const FIELD_NAMES = {
  subject: ['subject', 'title', 'name'],
  body: ['body', 'text', 'content', 'message', 'comment', 'description'],
  destination: [
    'to',
    'recipient',
    'recipients',
    'channel',
    'channel_id',
    'repo',
    'repository',
    'chat_id',
    'url',
  ],
} as const;

/**
 * Picks subject, body and destination out of a tool call's arguments (the first string argument named like
 * one, see FIELD_NAMES); the body falls back to the whole argument object as JSON.
 */
export function describeMcpCall(
  server: string,
  tool: string,
  args: Record<string, unknown>,
): { subject: string; body: string; destination: string; fields: McpPayload['fields'] } {
  const pick = (names: readonly string[]) => names.find((n) => typeof args[n] === 'string');
  const fields = {
    subject: pick(FIELD_NAMES.subject),
    body: pick(FIELD_NAMES.body),
    destination: pick(FIELD_NAMES.destination),
  };
  return {
    subject: fields.subject ? (args[fields.subject] as string) : `${tool} via ${server}`,
    body: fields.body ? (args[fields.body] as string) : JSON.stringify(args, null, 2),
    destination: `${server}/${tool}${fields.destination ? ` → ${args[fields.destination] as string}` : ''}`,
    fields,
  };
}

/** The MCP arguments after an edit of subject / body / destination (only fields that map to an argument). */
export function editedMcpArguments(
  p: McpPayload,
  change: { subject?: string; body?: string; destination?: string },
): Record<string, unknown> {
  const args = { ...p.arguments };
  if (change.subject !== undefined && p.fields.subject) args[p.fields.subject] = change.subject;
  if (change.body !== undefined && p.fields.body) args[p.fields.body] = change.body;
  if (change.destination !== undefined && p.fields.destination) {
    // The destination shown is `server/tool → value`; accept either that form or the bare value.
    const arrow = change.destination.lastIndexOf('→');
    args[p.fields.destination] = (
      arrow >= 0 ? change.destination.slice(arrow + 1) : change.destination
    ).trim();
  }
  return args;
}
