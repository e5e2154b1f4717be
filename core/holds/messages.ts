/**
 * The hold conversation with the helper (WIRE.md §3), as zod schemas: what the helper sends (`hold`,
 * `resolved`) and what the daemon answers (`decide`). Every line from the helper is parsed with these.
 */
import { z } from 'zod';

const str = z.string();
const pathField = z.string().nullable().optional();

export const helperHoldSchema = z.looseObject({
  t: z.literal('hold'),
  hold: z.number().int().positive(),
  seq: z.number().int().nonnegative().optional(),
  ts: z.number(),
  pid: z.number().int(),
  tid: z.number().int().optional(),
  op: str,
  sys: str.optional(),
  path: pathField,
  path_hex: str.optional(),
  path2: pathField,
  path2_hex: str.optional(),
  decision: z.enum(['ask', 'delay']),
  rule: str,
  band: str.optional(),
  deadline_ms: z.number(),
  fallback: z.enum(['allow', 'deny']),
  reason: z.enum(['rule', 'bulk', 'repeat']).default('rule'),
  burst: z.object({ root: str, count: z.number().int() }).nullable().optional(),
  argv: z.array(str).nullable().optional(),
  cwd: str.nullable().optional(),
  flags: z.number().int().optional(),
});
export type HelperHold = z.infer<typeof helperHoldSchema>;

export const helperResolvedSchema = z.looseObject({
  t: z.literal('resolved'),
  hold: z.number().int().positive(),
  decision: z.enum(['allow', 'deny']),
  by: z.enum(['person', 'policy', 'timeout', 'no-daemon', 'gone']).default('policy'),
});

export const helperMessageSchema = z.discriminatedUnion('t', [helperHoldSchema, helperResolvedSchema]);
export type HelperMessage = z.infer<typeof helperMessageSchema>;

/** The daemon's answer to one hold. */
export interface DecideMessage {
  t: 'decide';
  hold: number;
  decision: 'allow' | 'deny';
  scope: 'once' | 'burst' | 'run';
  by: 'person' | 'policy';
}
