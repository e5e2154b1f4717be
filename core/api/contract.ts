/**
 * The local API between `warden` clients (CLI, later the desktop app) and the daemon: one zod schema per
 * request and response. Every message crossing the socket is parsed with these (DESIGN.md safety property 3).
 *
 * Framing on the unix socket: newline-delimited JSON. A request is `{id, method, params}`; the daemon answers
 * `{id, ok: true, result}` or `{id, ok: false, error: {code, message, details?}}`. A line longer than
 * `MAX_LINE_BYTES` or that fails its schema gets an error answer and changes no state.
 */
import { z } from 'zod';
import { netMethods } from './contract-net.js';
import { messageMethods } from './contract-messages.js';
import { watchMethods } from './contract-watch.js';

/** Largest request line the daemon accepts, in bytes. */
export const MAX_LINE_BYTES = 1 << 20;

const runRef = z.union([z.number().int().positive(), z.literal('last')]);

/** A hold: an event waiting for a decision (DESIGN.md vocabulary). `id` is `<run>-<hold>`. */
export const holdSchema = z.object({
  id: z.string().regex(/^\d+-\d+$/),
  run: z.number().int().positive(),
  hold: z.number().int().positive(),
  seq: z.number().int().nonnegative(),
  ts: z.number(),
  /** epoch ms at which the fallback applies */
  deadline: z.number(),
  fallback: z.enum(['allow', 'deny']),
  decision: z.enum(['ask', 'delay']),
  reason: z.enum(['rule', 'bulk', 'repeat']),
  rule: z.string(),
  band: z.string(),
  why: z.string().nullable(),
  op: z.string(),
  sys: z.string().nullable(),
  path: z.string().nullable(),
  path2: z.string().nullable(),
  pid: z.number().int(),
  cwd: z.string().nullable(),
  argv: z.array(z.string()),
  chain: z.array(z.object({ pid: z.number().int(), argv: z.array(z.string()) })),
  burst: z.object({ root: z.string(), count: z.number().int() }).nullable(),
  /** What would go: file count / bytes / top dirs for deletes, a diff for overwrites, lines for commands. */
  preview: z
    .discriminatedUnion('kind', [
      z.object({
        kind: z.literal('delete'),
        files: z.number().int(),
        bytes: z.number(),
        top: z.array(z.object({ path: z.string(), files: z.number().int(), bytes: z.number() })),
        truncated: z.boolean(),
      }),
      z.object({ kind: z.literal('diff'), text: z.string(), truncated: z.boolean() }),
      z.object({ kind: z.literal('mode'), before: z.string(), after: z.string() }),
      z.object({
        kind: z.literal('command'),
        title: z.string(),
        lines: z.array(z.string()),
        truncated: z.boolean(),
      }),
    ])
    .nullable(),
  /** Set when what the event does cannot be undone by a rollback (e.g. a push). */
  irreversible: z.string().nullable(),
});
export type Hold = z.infer<typeof holdSchema>;

/** What a person (or a program acting for one) can answer. `always` also writes a user rule. */
export const decideParams = z
  .object({
    id: z.string().regex(/^\d+-\d+$/),
    decision: z.enum(['allow', 'deny']),
    scope: z.enum(['once', 'burst', 'run', 'always']).default('once'),
  })
  .strict();

/** Messages the daemon pushes to subscribers (unix socket after `events.subscribe`, and WebSocket). */
export const pushSchema = z.discriminatedUnion('type', [
  z.object({ type: z.literal('hold.new'), hold: holdSchema }),
  z.object({
    type: z.literal('hold.resolved'),
    id: z.string(),
    decision: z.enum(['allow', 'deny']),
    by: z.enum(['person', 'policy', 'timeout', 'no-daemon', 'gone']),
  }),
  z.object({ type: z.literal('run.started'), run: z.number().int() }),
  z.object({ type: z.literal('run.ended'), run: z.number().int() }),
]);
export type Push = z.infer<typeof pushSchema>;

const coreMethods = {
  'holds.list': { params: z.object({ run: z.number().int().positive().optional() }).strict() },
  'holds.decide': { params: decideParams },
  /** Pushes (`{push: Push}` lines) follow on this connection until it closes. */
  'events.subscribe': { params: z.object({ run: z.number().int().positive().optional() }).strict() },
  status: { params: z.object({}).strict() },
  'run.start': {
    params: z
      .object({
        argv: z.array(z.string()).min(1),
        cwd: z.string().startsWith('/'),
        workspace: z.string().startsWith('/'),
        home: z.string().startsWith('/'),
        tmp: z.array(z.string().startsWith('/')),
        policies: z.array(z.string().startsWith('/')),
        landlock: z.boolean().default(true),
        /** `isolated`: own network namespace, egress only through Warden's proxy; `host`: no isolation. */
        net: z.enum(['isolated', 'host']).default('host'),
      })
      .strict(),
  },
  'run.finish': {
    params: z
      .object({
        run: z.number().int().positive(),
        exitCode: z.number().int().nullable(),
        signal: z.string().nullable(),
      })
      .strict(),
  },
  'runs.list': { params: z.object({ limit: z.number().int().positive().max(10000).default(50) }).strict() },
  'run.get': { params: z.object({ run: runRef }).strict() },
  'run.log': {
    params: z
      .object({
        run: runRef,
        afterSeq: z.number().int().nonnegative().default(0),
        limit: z.number().int().positive().max(100000).default(1000),
        op: z.string().optional(),
      })
      .strict(),
  },
  'rollback.plan': {
    params: z
      .object({ run: runRef, paths: z.array(z.string()).default([]), all: z.boolean().default(false) })
      .strict(),
  },
  'rollback.apply': {
    params: z
      .object({
        run: runRef,
        paths: z.array(z.string()).default([]),
        all: z.boolean().default(false),
        force: z.boolean().default(false),
      })
      .strict(),
  },
  'policy.show': {
    params: z
      .object({ workspace: z.string().startsWith('/').optional(), policies: z.array(z.string()).default([]) })
      .strict(),
  },
  'journal.verify': { params: z.object({}).strict() },
  'run.show': { params: z.object({ run: runRef }).strict() },
  'rollback.undo': { params: z.object({ rollback: z.number().int().positive() }).strict() },
  shutdown: { params: z.object({}).strict() },
} as const;

/**
 * Every method of the API: the core ones above, plus those of the network / outbound-message / watch-mode
 * areas, each kept in its own `contract-*.ts` so the areas grow without editing one shared list.
 */
export const methods = { ...coreMethods, ...netMethods, ...messageMethods, ...watchMethods } as const;

export type Method = keyof typeof methods;
export type Params<M extends Method> = z.input<(typeof methods)[M]['params']>;

export const requestSchema = z
  .object({
    id: z.number().int().nonnegative(),
    method: z.string(),
    params: z.unknown().default({}),
  })
  .strict();

/** First line a helper sends on its socket connection; afterwards each `\n` byte means "new events logged". */
export const helperHelloSchema = z
  .object({ t: z.literal('hello'), run: z.number().int().positive() })
  .strict();

export const errorSchema = z.object({
  code: z.string(),
  message: z.string(),
  /** Exit code a CLI should use for this error (2 = bad input, 1 = failure). */
  exit: z.number().int().optional(),
  details: z.unknown().optional(),
});

export const responseSchema = z.union([
  z.object({ id: z.number().int(), ok: z.literal(true), result: z.unknown() }),
  z.object({ id: z.number().int(), ok: z.literal(false), error: errorSchema }),
]);

export type Response = z.infer<typeof responseSchema>;
