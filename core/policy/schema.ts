// The YAML shape of a policy file (DESIGN.md "Policy model"), as zod 4 schemas with `.strict()` objects so that
// a misspelt key is an error, plus the loaded (normalised) rule type the engine works on.
import { z } from 'zod';

/** Every op in the DESIGN.md vocabulary. The run table (WIRE.md §1) carries all but `message` and `mcp_call`. */
export const OPS = [
  'read',
  'write',
  'create',
  'delete',
  'rename',
  'mkdir',
  'chmod',
  'exec',
  'connect',
  'message',
  'mcp_call',
] as const;
export type Op = (typeof OPS)[number];

/** Ops that change the file system: an `allow` for one of these may widen the Landlock wall. */
export const WRITE_OPS: readonly Op[] = ['write', 'create', 'delete', 'rename', 'mkdir', 'chmod'];

export const DECISIONS = ['allow', 'deny', 'ask', 'delay', 'steer'] as const;
export type DecisionKind = (typeof DECISIONS)[number];

/** Strictness order for two-path events (WIRE.md §1): deny > ask > delay > steer > allow. */
export const STRICTNESS: Record<DecisionKind, number> = { deny: 4, ask: 3, delay: 2, steer: 1, allow: 0 };

export const BAND_RE = /^\d\d-[a-z0-9-]+$/;
export const RULE_ID_RE = /^[a-z0-9][a-z0-9-]*$/;

const UNITS: Record<string, number> = { ms: 1, s: 1000, m: 60_000, h: 3_600_000 };
/** `500ms`, `2s`, `5m`, `1h` → milliseconds. */
const duration = z
  .string()
  .regex(/^\d+(ms|s|m|h)$/, 'expected a duration like 500ms, 2s, 5m or 1h')
  .transform((s) => {
    const m = /^(\d+)(ms|s|m|h)$/.exec(s);
    return Number(m?.[1]) * (UNITS[m?.[2] ?? 's'] ?? 1000);
  });

const stringList = z.union([z.string().min(1), z.array(z.string().min(1)).min(1)]);

const matchSchema = z
  .object({
    op: z.union([z.literal('*'), z.enum(OPS), z.array(z.enum(OPS)).min(1)]),
    path: stringList.optional(),
    tree: stringList.optional(),
    command: z
      .object({ argv: z.array(z.string()).min(1) })
      .strict()
      .optional(),
    host: stringList.optional(),
    agent: z.string().min(1).optional(),
  })
  .strict();

const ruleSchema = z
  .object({
    id: z.string().regex(RULE_ID_RE, 'rule id must match /^[a-z0-9][a-z0-9-]*$/'),
    why: z.string().min(1),
    match: matchSchema,
    decision: z.enum(DECISIONS),
    delay: duration.optional(),
    timeout: duration.optional(),
    fallback: z.enum(DECISIONS).optional(),
    limit: z.object({ count: z.number().int().positive(), window: duration }).strict().optional(),
  })
  .strict()
  .superRefine((r, ctx) => {
    const m = r.match;
    if (!m.path && !m.tree && !m.command && !m.host && !m.agent)
      ctx.addIssue({
        code: 'custom',
        path: ['match'],
        message: 'match needs path, tree, command, host or agent',
      });
    if (m.tree && (m.op === '*' || [m.op].flat().some((o) => o !== 'exec')))
      ctx.addIssue({ code: 'custom', path: ['match', 'op'], message: 'tree matchers apply only to op exec' });
    if (r.delay !== undefined && r.decision !== 'delay')
      ctx.addIssue({ code: 'custom', path: ['delay'], message: 'delay is only valid with decision: delay' });
    for (const k of ['timeout', 'fallback'] as const)
      if (r[k] !== undefined && r.decision !== 'ask')
        ctx.addIssue({ code: 'custom', path: [k], message: `${k} is only valid with decision: ask` });
  });

export const policyFileSchema = z
  .object({
    band: z.string().regex(BAND_RE, 'band must look like 10-protected').optional(),
    description: z.string().optional(),
    rules: z.array(ruleSchema),
  })
  .strict();
export type PolicyFileSpec = z.infer<typeof policyFileSchema>;
export type RuleSpec = PolicyFileSpec['rules'][number];

/** A loaded rule: the YAML rule normalised (lists always arrays), with where it came from. */
export interface PolicyRule {
  id: string;
  band: string;
  file: string;
  /** Position of the rule's `id` value (1-based). */
  line: number;
  column: number;
  why: string;
  /** `'*'` = every op. */
  ops: Op[] | '*';
  /** Raw globs as written (variables and braces not yet expanded). */
  paths: string[];
  /** Raw tree roots as written (exec rules). */
  trees: string[];
  decision: DecisionKind;
  delayMs?: number;
  timeoutMs?: number;
  fallback?: DecisionKind;
  limit?: { count: number; windowMs: number };
  /** Matchers parsed and validated but not evaluated yet (command/host/agent): such rules never match. */
  pending: ('command' | 'host' | 'agent')[];
  command?: { argv: string[] };
  hosts?: string[];
  agent?: string;
}

/** A loaded policy: bands in order, rules first-match-wins in that order. */
export interface Policy {
  bands: { band: string; file: string; description?: string }[];
  rules: PolicyRule[];
}

/** True when `rule` applies to `op`. */
export function ruleHasOp(rule: Pick<PolicyRule, 'ops'>, op: Op): boolean {
  return rule.ops === '*' || rule.ops.includes(op);
}
