/**
 * What the root helper `warden-watch` sends a user's daemon on its socket (helper/linux/WIRE.md §4.2), as zod
 * schemas: every line is parsed with `parseHelperLine` before the daemon acts on it.
 */
import { z } from 'zod';

const int = z.number().int();
const key = z.string().regex(/^\d+-\d+$/, 'tree key must look like 1700000000-3');

export const helloSchema = z.looseObject({
  t: z.literal('hello'),
  helper_pid: int,
  uid: int,
  roots: z.array(z.string()),
  canary: z.string(),
  mech: z.record(z.string(), z.string()),
});
export const heartbeatSchema = z.looseObject({
  t: z.literal('hb'),
  ts: int,
  trees: int,
  perm_events: int,
  perm_agent: int,
  name_events: int,
  shadow_files: int,
});
export const treeSchema = z.looseObject({
  t: z.literal('tree'),
  tree: key,
  pid: int,
  ts: int,
  argv: z.array(z.string()).optional(),
  argv_hex: z.array(z.string()).optional(),
  cwd: z.string().nullable().optional(),
  root: z.string(),
  journaled: int,
});
export const wakeSchema = z.looseObject({ t: z.literal('wake'), tree: key });
export const endedSchema = z.looseObject({ t: z.literal('ended'), tree: key });
export const canarySchema = z.looseObject({ t: z.literal('canary'), pid: int, ts: int });
/** Holds and their resolution: WIRE.md §3 messages plus the `tree` they belong to. */
export const treeHoldSchema = z.looseObject({
  t: z.enum(['hold', 'resolved']),
  tree: key,
  hold: int.positive(),
});

export const helperLineSchema = z.discriminatedUnion('t', [
  helloSchema,
  heartbeatSchema,
  treeSchema,
  wakeSchema,
  endedSchema,
  canarySchema,
  treeHoldSchema,
]);
export type HelperLine = z.infer<typeof helperLineSchema>;
export type TreeLine = z.infer<typeof treeSchema>;
export type HelloLine = z.infer<typeof helloSchema>;

/**
 * Parses one line from the helper. @throws Error naming the line's type and the offending field.
 */
export function parseHelperLine(line: string): HelperLine {
  let raw: unknown;
  try {
    raw = JSON.parse(line);
  } catch {
    throw new Error(`watch helper sent a line that is not JSON: ${line.slice(0, 80)}`);
  }
  const r = helperLineSchema.safeParse(raw);
  if (!r.success)
    throw new Error(
      `watch helper line ${JSON.stringify((raw as { t?: unknown })?.t)}: ${r.error.issues.map((i) => `${i.path.join('.') || '(root)'}: ${i.message}`).join('; ')}`,
    );
  return r.data;
}
