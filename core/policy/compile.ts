// Compiling a Policy into the run table the C helper matches (WIRE.md §1), including the Landlock wall.
import { formatTableLine } from '../wire/table.js';
import { compileRules, isWithin, type CompiledRule } from './evaluate.js';
import type { PolicyVars } from './glob.js';
import { policySettings } from './load.js';
import { WRITE_OPS, type Op, type Policy, type PolicyRule } from './schema.js';

/** Header values of a run table (WIRE.md §1, §3). Paths are absolute. */
export interface TableHeader {
  run: number;
  state: string;
  socket: string;
  events: string;
  stage: string;
  home: string;
  workspace: string;
  preimageMax: number;
  landlock: boolean;
  /** Where `steer` moves deleted files (WIRE.md §3); default `${state}/trash/${run}`. */
  trash?: string;
}

/** Ops the run table can carry (WIRE.md §1 `OPS`); `message` and `mcp_call` are decided by the daemon. */
const TABLE_OPS: readonly Op[] = [
  'read',
  'write',
  'create',
  'delete',
  'rename',
  'mkdir',
  'chmod',
  'exec',
  'connect',
];

function tableOps(c: CompiledRule): string | null {
  if (c.rule.ops === '*') return '*';
  const ops = c.rule.ops.filter((o) => TABLE_OPS.includes(o));
  return ops.length > 0 ? ops.join(',') : null;
}

/**
 * The Landlock write wall: literal roots of `allow` rules for write-type ops whose expanded pattern is a literal
 * absolute path P or `P/**` (patterns starting with `**` or with glob characters elsewhere never widen it),
 * deduplicated, roots beneath other roots dropped, in rule order. Deny rules inside the wall are enforced by
 * the seccomp layer, not by Landlock.
 */
export function deriveWall(policy: Policy, vars: PolicyVars): string[] {
  const roots: string[] = [];
  for (const c of compileRules(policy, vars)) {
    if (c.rule.decision !== 'allow') continue;
    if (c.rule.ops !== '*' && !c.rule.ops.some((o) => WRITE_OPS.includes(o))) continue;
    for (const g of c.globs) if (g.root !== null && !g.relative) roots.push(g.root);
  }
  return roots.filter((r, i) => roots.findIndex((o, j) => isWithin(r, o) && (o !== r || j < i)) === -1);
}

/**
 * The optional 8th `rule` field (WIRE.md §3): the hold parameters the rule itself sets, as
 * `delay=MS,timeout=MS,fallback=allow|deny` (only those present); null when it sets none. Parameters left out
 * come from the table's `delete_delay_ms` / `ask_timeout_ms` (and fallback deny for ask) in the helper.
 */
export function ruleParams(rule: Pick<PolicyRule, 'delayMs' | 'timeoutMs' | 'fallback'>): string | null {
  const parts: string[] = [];
  if (rule.delayMs !== undefined) parts.push(`delay=${rule.delayMs}`);
  if (rule.timeoutMs !== undefined) parts.push(`timeout=${rule.timeoutMs}`);
  if (rule.fallback !== undefined) parts.push(`fallback=${rule.fallback}`);
  return parts.length > 0 ? parts.join(',') : null;
}

/**
 * The run table text for `policy` under `vars` (WIRE.md §1, §3): header records, the hold settings
 * (`trash`, `delete_delay_ms`, `ask_timeout_ms`, `bulk`, `idle_ms`, `repeat`, always written with defaults
 * filled in), the wall, one `rule` record per expanded pattern (`tree`, then `argv`, then `path`; same id
 * contiguous, first match wins; an 8th field with the rule's hold parameters when it sets any), `landlock`.
 * Fields escaped with escapeField (so the `\x1f` separating argv globs is written `\x1f`). Rules with
 * pending matchers (host/agent) or with only daemon-side ops are left out. Ends with a newline.
 * @throws GlobError if a pattern cannot be expanded with these vars.
 */
export function compileTable(policy: Policy, vars: PolicyVars, header: TableHeader): string {
  const s = policySettings(policy);
  const lines = [
    formatTableLine('warden-table', 1),
    '# compiled by core/policy/compile.ts; see helper/linux/WIRE.md §1',
    formatTableLine('run', header.run),
    formatTableLine('state', header.state),
    formatTableLine('socket', header.socket),
    formatTableLine('events', header.events),
    formatTableLine('stage', header.stage),
    formatTableLine('home', header.home),
    formatTableLine('workspace', header.workspace),
    formatTableLine('preimage_max', header.preimageMax),
    formatTableLine('trash', header.trash ?? `${header.state}/trash/${header.run}`),
    formatTableLine('delete_delay_ms', s.deleteDelayMs),
    formatTableLine('ask_timeout_ms', s.askTimeoutMs),
    formatTableLine('bulk', s.bulk.count, s.bulk.windowMs),
    formatTableLine('idle_ms', s.idleMs),
    formatTableLine('repeat', s.repeat),
    ...deriveWall(policy, vars).map((r) => formatTableLine('wall_write', r)),
    formatTableLine('wall_deny_read', vars.state),
  ];
  for (const c of compileRules(policy, vars)) {
    const ops = tableOps(c);
    if (ops === null) continue;
    const head = [c.rule.id, c.rule.band, c.rule.decision, ops] as const;
    const params = ruleParams(c.rule);
    const tail = params === null ? [] : [params];
    for (const t of c.trees) lines.push(formatTableLine('rule', ...head, 'tree', t, ...tail));
    // loadPolicy allows `command` matchers only in rules whose op is exec alone, so OPS is `exec` here.
    for (const a of c.argvs) lines.push(formatTableLine('rule', ...head, 'argv', a.glob, ...tail));
    for (const g of c.globs) lines.push(formatTableLine('rule', ...head, 'path', g.glob, ...tail));
  }
  lines.push(formatTableLine('landlock', header.landlock ? 'on' : 'off'));
  return `${lines.join('\n')}\n`;
}

/** One row of `warden policy show`. */
export interface RuleSummaryRow {
  id: string;
  band: string;
  decision: string;
  ops: string[];
  /** Raw patterns as written: paths, `tree:` roots, `argv:` patterns, and pending matchers marked as such. */
  patterns: string[];
}

/** The rules in evaluation order, for `warden policy show` (patterns are shown unexpanded). */
export function ruleSummary(policy: Policy): RuleSummaryRow[] {
  return policy.rules.map((r) => ({
    id: r.id,
    band: r.band,
    decision: r.decision,
    ops: r.ops === '*' ? ['*'] : [...r.ops],
    patterns: [
      ...r.paths,
      ...r.trees.map((t) => `tree:${t}`),
      ...r.argvs.map((a) => `argv:${a.join(' ')}`),
      ...(r.hosts ?? []).map((h) => `host(pending):${h}`),
      ...(r.agent ? [`agent(pending):${r.agent}`] : []),
    ],
  }));
}
