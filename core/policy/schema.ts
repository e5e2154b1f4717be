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
const DURATION_RE = /^(\d+)(ms|s|m|h)$/;

/** `500ms`, `2s`, `5m`, `1h` → milliseconds; null when `s` is not such a duration (or is not a safe integer). */
export function parseDuration(s: string): number | null {
  const m = DURATION_RE.exec(s);
  if (!m) return null;
  const ms = Number(m[1]) * (UNITS[m[2] as string] as number);
  return Number.isSafeInteger(ms) ? ms : null;
}

/** A duration as YAML writes it (a string like `2s`) → milliseconds. */
const duration = z.string().transform((s, ctx) => {
  const ms = parseDuration(s);
  if (ms === null) {
    ctx.addIssue({ code: 'custom', message: 'expected a duration like 500ms, 2s, 5m or 1h' });
    return z.NEVER;
  }
  return ms;
});

/** Decisions a hold falls back to when nobody answers in time (WIRE.md §3). */
export const FALLBACKS = ['allow', 'deny'] as const;
export type Fallback = (typeof FALLBACKS)[number];

const stringList = z.union([z.string().min(1), z.array(z.string().min(1)).min(1)]);

const matchSchema = z
  .object({
    op: z.union([z.literal('*'), z.enum(OPS), z.array(z.enum(OPS)).min(1)]),
    path: stringList.optional(),
    tree: stringList.optional(),
    // One argv pattern, or a list of alternatives (WIRE.md §3 `argv` rules).
    command: z
      .object({
        argv: z.union([z.array(z.string()).min(1), z.array(z.array(z.string()).min(1)).min(1)]),
      })
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
    fallback: z.enum(FALLBACKS).optional(),
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
    if (m.command && (m.op === '*' || [m.op].flat().some((o) => o !== 'exec')))
      ctx.addIssue({
        code: 'custom',
        path: ['match', 'op'],
        message: 'command matchers apply only to op exec',
      });
    if (r.delay !== undefined && r.decision !== 'delay')
      ctx.addIssue({ code: 'custom', path: ['delay'], message: 'delay is only valid with decision: delay' });
    for (const k of ['timeout', 'fallback'] as const)
      if (r[k] !== undefined && r.decision !== 'ask')
        ctx.addIssue({ code: 'custom', path: [k], message: `${k} is only valid with decision: ask` });
  });

/** Policy-level hold settings (WIRE.md §3 table keys); every key optional, later bands override earlier ones. */
const settingsSchema = z
  .object({
    delete_delay: duration.optional(),
    ask_timeout: duration.optional(),
    bulk: z.object({ count: z.number().int().positive(), window: duration }).strict().optional(),
    burst_idle: duration.optional(),
    repeat: z.number().int().nonnegative().optional(),
  })
  .strict();

/**
 * `mcp:` section (issue 6): rules for tool calls through the MCP gateway (`warden mcp`), first match wins in band
 * order, and which tools count as sends (queued as outbound messages). Read by core/mcp/policy.ts.
 */
export const mcpSectionSchema = z
  .object({
    /** Globs on tool names that send (default in core/mcp/policy.ts); a later band replaces the list. */
    send_tools: z.array(z.string().min(1)).optional(),
    /** Per gateway name (`warden mcp --name NAME`): its own send-tool globs, replacing the default list. */
    servers: z.record(z.string(), z.object({ send_tools: z.array(z.string().min(1)) }).strict()).optional(),
    rules: z
      .array(
        z
          .object({
            id: z.string().regex(RULE_ID_RE, 'rule id must match /^[a-z0-9][a-z0-9-]*$/'),
            why: z.string().min(1),
            /** Globs on the gateway name. */
            server: stringList.optional(),
            /** Globs on the tool name. */
            tool: stringList.optional(),
            /** Argument name → globs on its value (non-strings as JSON); every named argument must match. */
            args: z.record(z.string(), stringList).optional(),
            decision: z.enum(['allow', 'deny', 'queue']),
          })
          .strict(),
      )
      .default([]),
  })
  .strict();

/** `messages:` section (issue 6): the outbound-message queue. Later bands override earlier ones. */
export const messagesSectionSchema = z.object({ release_after: duration.optional() }).strict();

/**
 * One egress rule (`network:` section, issue 6): host globs (`*` matches any run of characters, dots included,
 * so `*.githubusercontent.com` covers every subdomain; case-insensitive; `{a,b}` alternatives), optional ports
 * (none = any port). Evaluated first match wins in band order by the egress proxy (core/net/rules.ts).
 */
export const networkRuleSchema = z
  .object({
    id: z.string().regex(RULE_ID_RE, 'rule id must match /^[a-z0-9][a-z0-9-]*$/'),
    why: z.string().min(1).optional(),
    hosts: z.array(z.string().min(1).max(253)).min(1),
    ports: z.array(z.number().int().min(1).max(65535)).min(1).optional(),
    decision: z.enum(['allow', 'deny', 'ask']),
    timeout: duration.optional(),
    fallback: z.enum(FALLBACKS).optional(),
  })
  .strict();
export type NetworkRuleSpec = z.infer<typeof networkRuleSchema>;

/**
 * One agent selector (`agents:` section, issue 7): how system-wide watch mode (`warden watch`) recognises an
 * agent process it did not start. A process matches when the basename of its executable (or of its argv[0])
 * matches one of `exe`, or any argv element matches one of `argv` (globs; `*` also matches `/`). The process
 * and all its descendants form one run. Read by core/watch/config.ts.
 */
export const agentSelectorSchema = z
  .object({
    id: z.string().regex(RULE_ID_RE, 'agent id must match /^[a-z0-9][a-z0-9-]*$/'),
    why: z.string().optional(),
    exe: z.array(z.string().min(1).max(200)).optional(),
    argv: z.array(z.string().min(1).max(500)).optional(),
  })
  .strict()
  .refine((a) => (a.exe?.length ?? 0) + (a.argv?.length ?? 0) > 0, { message: 'an agent needs exe or argv' });
export type AgentSelectorSpec = z.infer<typeof agentSelectorSchema>;

export const policyFileSchema = z
  .object({
    agents: z.array(agentSelectorSchema).optional(),
    network: z
      .object({ rules: z.array(networkRuleSchema).default([]) })
      .strict()
      .optional(),
    band: z.string().regex(BAND_RE, 'band must look like 10-protected').optional(),
    description: z.string().optional(),
    settings: settingsSchema.optional(),
    mcp: mcpSectionSchema.optional(),
    messages: messagesSectionSchema.optional(),
    rules: z.array(ruleSchema).default([]),
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
  /** Hold parameters as written (`delay:` only with delay, `timeout:`/`fallback:` only with ask). */
  delayMs?: number;
  timeoutMs?: number;
  fallback?: Fallback;
  limit?: { count: number; windowMs: number };
  /** Matchers parsed and validated but not evaluated yet (host/agent): such rules never match. */
  pending: ('host' | 'agent')[];
  /** `command: { argv }` alternatives (exec rules), each one glob per argv element; empty = none. */
  argvs: string[][];
  hosts?: string[];
  agent?: string;
}

/** Hold settings with every default filled in (WIRE.md §3 table keys). */
export interface PolicySettings {
  /** `delete_delay`: delay decisions without their own `delay:` (table `delete_delay_ms`). */
  deleteDelayMs: number;
  /** `ask_timeout`: ask decisions without their own `timeout:` (table `ask_timeout_ms`). */
  askTimeoutMs: number;
  /** `bulk`: more than `count` deletes of pre-existing files within `windowMs` raise one ask. */
  bulk: { count: number; windowMs: number };
  /** `burst_idle`: a process's delete burst ends after this long without a delete (table `idle_ms`). */
  idleMs: number;
  /** `repeat`: the same argv exec'd this many times in a row raises an ask; 0 = off. */
  repeat: number;
}

/** WIRE.md §3 defaults. */
export const DEFAULT_SETTINGS: Readonly<PolicySettings> = Object.freeze({
  deleteDelayMs: 2000,
  askTimeoutMs: 300_000,
  bulk: Object.freeze({ count: 50, windowMs: 10_000 }),
  idleMs: 5000,
  repeat: 5,
});

/** A loaded policy: bands in order, rules first-match-wins in that order. */
export interface Policy {
  bands: { band: string; file: string; description?: string }[];
  rules: PolicyRule[];
  /** Settings the files set, merged in band order (later bands override earlier ones, key by key). */
  settings: Partial<PolicySettings>;
}

/** True when `rule` applies to `op`. */
export function ruleHasOp(rule: Pick<PolicyRule, 'ops'>, op: Op): boolean {
  return rule.ops === '*' || rule.ops.includes(op);
}
