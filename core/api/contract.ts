/**
 * The local API between `warden` clients (CLI, later the desktop app) and the daemon: one zod schema per
 * request and response. Every message crossing the socket is parsed with these (DESIGN.md safety property 3).
 *
 * Framing on the unix socket: newline-delimited JSON. A request is `{id, method, params}`; the daemon answers
 * `{id, ok: true, result}` or `{id, ok: false, error: {code, message, details?}}`. A line longer than
 * `MAX_LINE_BYTES` or that fails its schema gets an error answer and changes no state.
 */
import { z } from 'zod';

/** Largest request line the daemon accepts, in bytes. */
export const MAX_LINE_BYTES = 1 << 20;

const runRef = z.union([z.number().int().positive(), z.literal('last')]);

export const methods = {
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
  shutdown: { params: z.object({}).strict() },
} as const;

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
