// Compiling a Policy into the run table the C helper matches (WIRE.md §1), including the Landlock wall.
import { formatTableLine } from '../wire/table.js';
import { compileRules, isWithin, type CompiledRule } from './evaluate.js';
import type { PolicyVars } from './glob.js';
import { WRITE_OPS, type Op, type Policy } from './schema.js';

/** Header values of a run table (WIRE.md §1). Paths are absolute. */
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
 * The run table text for `policy` under `vars` (WIRE.md §1): header records, the wall, one `rule` record per
 * expanded pattern (same id contiguous, first match wins), `landlock`. Fields escaped with escapeField.
 * Rules with pending matchers (command/host/agent) or with only daemon-side ops are left out; `ask`, `delay` and
 * `steer` are written as they are (the helper treats them as deny for now). Ends with a newline.
 * @throws GlobError if a pattern cannot be expanded with these vars.
 */
export function compileTable(policy: Policy, vars: PolicyVars, header: TableHeader): string {
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
    ...deriveWall(policy, vars).map((r) => formatTableLine('wall_write', r)),
    formatTableLine('wall_deny_read', vars.state),
  ];
  for (const c of compileRules(policy, vars)) {
    const ops = tableOps(c);
    if (ops === null) continue;
    const head = [c.rule.id, c.rule.band, c.rule.decision, ops] as const;
    for (const t of c.trees) lines.push(formatTableLine('rule', ...head, 'tree', t));
    for (const g of c.globs) lines.push(formatTableLine('rule', ...head, 'path', g.glob));
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
  /** Raw patterns as written: paths, `tree:` roots, and pending matchers marked as such. */
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
      ...(r.command ? [`command(pending):${r.command.argv.join(' ')}`] : []),
      ...(r.hosts ?? []).map((h) => `host(pending):${h}`),
      ...(r.agent ? [`agent(pending):${r.agent}`] : []),
    ],
  }));
}
