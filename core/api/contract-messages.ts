/**
 * API methods of the outbound-message queue and the MCP gateway (issue 6): `{ method: { params: zod schema } }`,
 * merged into `methods` in contract.ts, plus the shape of one outbound message as the API returns it.
 *
 * An outbound message is an email, chat post, issue comment… an agent tried to send (DESIGN.md vocabulary). It
 * waits in the queue until its release time, then is delivered exactly once (see core/messages/queue.ts).
 */
import { z } from 'zod';

export const MESSAGE_STATES = ['queued', 'edited', 'sending', 'sent', 'cancelled', 'failed'] as const;
export type MessageState = (typeof MESSAGE_STATES)[number];

export const MESSAGE_CHANNELS = ['mcp', 'smtp'] as const;
export type MessageChannel = (typeof MESSAGE_CHANNELS)[number];

/** One outbound message. Times are epoch milliseconds; `attachments` is a summary (names and sizes only). */
export const messageSchema = z.object({
  id: z.number().int().positive(),
  channel: z.enum(MESSAGE_CHANNELS),
  /** Recipients (smtp: comma-separated addresses) or the MCP server and tool (`github/create_issue`). */
  destination: z.string(),
  subject: z.string(),
  body: z.string(),
  attachments: z.array(z.object({ name: z.string(), bytes: z.number().int(), type: z.string() })),
  run: z.number().int().nullable(),
  pid: z.number().int().nullable(),
  /** The sending process or program as far as it is known (argv or the MCP server name). */
  process: z.string().nullable(),
  createdAt: z.number(),
  releaseAt: z.number(),
  state: z.enum(MESSAGE_STATES),
  /** True once a person changed subject, body or destination. */
  edited: z.boolean(),
  error: z.string().nullable(),
  sentAt: z.number().nullable(),
  /** Stable per message; sent along (SMTP Message-ID, MCP `_meta`) so the receiver can drop a repeat. */
  idempotencyKey: z.string(),
  /** Delivery attempts started (a crash after the first one makes the second a recovery attempt). */
  attempts: z.number().int(),
});
export type Message = z.infer<typeof messageSchema>;

const id = z.number().int().positive();
/** Opaque capability naming one gateway session (hex). */
const session = z.string().regex(/^[0-9a-f]{32}$/);

export const messageMethods = {
  'messages.list': {
    params: z
      .object({
        state: z.enum(MESSAGE_STATES).optional(),
        run: z.number().int().positive().optional(),
        limit: z.number().int().positive().max(10000).default(200),
      })
      .strict(),
  },
  'messages.get': { params: z.object({ id }).strict() },
  /** Changes what will be sent; only while the message is queued or edited. */
  'messages.edit': {
    params: z
      .object({
        id,
        subject: z.string().max(10_000).optional(),
        body: z.string().max(5_000_000).optional(),
        destination: z.string().min(1).max(10_000).optional(),
      })
      .strict(),
  },
  /** Releases a queued message now (resolves once it is sent or failed). */
  'messages.send': { params: z.object({ id }).strict() },
  'messages.cancel': { params: z.object({ id }).strict() },
  /**
   * A gateway (`warden mcp`) starts: which server it fronts and how to start that server again at release.
   * `run`/`token`: given by a gateway inside a guarded run (from WARDEN_RUN / WARDEN_OUTBOX_TOKEN); outside a
   * run the daemon opens a run for the gateway session itself.
   */
  'mcp.open': {
    params: z
      .object({
        name: z.string().min(1).max(200),
        command: z.string().min(1),
        args: z.array(z.string()),
        env: z.record(z.string(), z.string()),
        cwd: z.string().startsWith('/'),
        pid: z.number().int().positive().optional(),
        token: z.string().max(200).optional(),
      })
      .strict(),
  },
  /** One `tools/call` the agent made: answered with the policy decision (and the queued message if queued). */
  'mcp.call': {
    params: z
      .object({
        session,
        tool: z.string().min(1).max(1000),
        arguments: z.record(z.string(), z.unknown()).default({}),
      })
      .strict(),
  },
  /** Records how an allowed call ended (journaled with the call). */
  'mcp.result': {
    params: z
      .object({
        session,
        tool: z.string().max(1000),
        ok: z.boolean(),
        error: z.string().max(10_000).optional(),
      })
      .strict(),
  },
  'mcp.close': { params: z.object({ session }).strict() },
} as const;

/** Answer of `mcp.open`. */
export const mcpOpenResult = z.object({ session: z.string(), run: z.number().int() });

/** Answer of `mcp.call`: `queue` comes with the message the call became. */
export const mcpCallResult = z.object({
  decision: z.enum(['allow', 'deny', 'queue']),
  rule: z.string(),
  why: z.string(),
  message: messageSchema.optional(),
});
export type McpCallResult = z.infer<typeof mcpCallResult>;
