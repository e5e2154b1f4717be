// The TypeScript policy engine: the single source of truth for decisions (DESIGN.md "Policy model"). The C
// matcher decides from the table compile.ts derives from the same rules, with the semantics of WIRE.md §1.
import {
  compileArgv,
  expandGlob,
  expandTree,
  type ArgvPattern,
  type ExpandedGlob,
  type PolicyVars,
} from './glob.js';
import { policySettings } from './load.js';
import { recursiveDeleteTargets, resolveTarget } from './rmtree.js';
import {
  ruleHasOp,
  STRICTNESS,
  type DecisionKind,
  type Fallback,
  type Op,
  type Policy,
  type PolicyRule,
} from './schema.js';

/**
 * An event to decide. Paths are canonical (the helper resolves them); `link` = hardlink (path = new name). For
 * exec, `path` is the resolved executable: `argv` rules match argv[0] against its basename (else argv[0]'s).
 */
export interface PolicyEvent {
  op: Op | 'link';
  path?: string;
  path2?: string;
  cwd?: string;
  argv?: string[];
}

/**
 * What the engine decided and why; `rule` is set when a policy rule (not a built-in) decided. Holds carry their
 * resolved parameters (rule params, else the policy settings, WIRE.md §3):
 * - `ask`: `timeoutMs` (rule `timeout:` or `ask_timeout`) and `fallback` (rule `fallback:`, default deny);
 * - `delay`: `delayMs` (rule `delay:` or `delete_delay`), `timeoutMs` = `delayMs` (the hold's deadline) and
 *   `fallback: 'allow'` (a delay proceeds when its window passes).
 * Other decisions have none of the three.
 */
export interface Decision {
  decision: DecisionKind;
  ruleId: string;
  band: string;
  why: string;
  matched: 'path' | 'path2' | 'tree' | 'argv' | 'builtin' | 'none';
  rule?: PolicyRule;
  delayMs?: number;
  timeoutMs?: number;
  fallback?: Fallback;
}

/** A rule with its patterns expanded for one set of variables. */
export interface CompiledRule {
  rule: PolicyRule;
  globs: ExpandedGlob[];
  trees: string[];
  argvs: ArgvPattern[];
}

const cache = new WeakMap<Policy, Map<string, CompiledRule[]>>();

/**
 * Expands every rule's patterns for `vars` (cached per policy and vars). Rules with pending matchers
 * (host/agent) are left out: they are validated but not enforced yet, by either engine.
 * @throws GlobError if a pattern cannot be expanded (loadPolicy has already validated the syntax).
 */
export function compileRules(policy: Policy, vars: PolicyVars): CompiledRule[] {
  const key = JSON.stringify(vars);
  let byVars = cache.get(policy);
  if (!byVars) cache.set(policy, (byVars = new Map()));
  let rules = byVars.get(key);
  if (!rules) {
    rules = policy.rules
      .filter((r) => r.pending.length === 0)
      .map((rule) => ({
        rule,
        globs: rule.paths.flatMap((p) => expandGlob(p, vars)),
        trees: rule.trees.flatMap((t) => expandTree(t, vars)),
        argvs: rule.argvs.map(compileArgv),
      }));
    byVars.set(key, rules);
  }
  return rules;
}

/** `p` is `root` or lies beneath it. */
export function isWithin(p: string, root: string): boolean {
  return p === root || p.startsWith(root === '/' ? '/' : `${root}/`);
}

const builtin = (ruleId: string, why: string): Decision => ({
  decision: 'deny',
  ruleId,
  band: 'builtin',
  why,
  matched: 'builtin',
});

const NO_RULE: Decision = {
  decision: 'deny',
  ruleId: 'no-rule',
  band: '',
  why: 'No rule matched.',
  matched: 'none',
};

/** The hold parameters of a decision by `rule` (see {@link Decision}). */
export function holdParams(
  policy: Policy,
  rule: Pick<PolicyRule, 'decision' | 'delayMs' | 'timeoutMs' | 'fallback'>,
): Pick<Decision, 'delayMs' | 'timeoutMs' | 'fallback'> {
  const s = policySettings(policy);
  if (rule.decision === 'ask')
    return { timeoutMs: rule.timeoutMs ?? s.askTimeoutMs, fallback: rule.fallback ?? 'deny' };
  if (rule.decision === 'delay') {
    const delayMs = rule.delayMs ?? s.deleteDelayMs;
    return { delayMs, timeoutMs: delayMs, fallback: 'allow' };
  }
  return {};
}

function firstMatch(
  policy: Policy,
  rules: CompiledRule[],
  ev: PolicyEvent,
  op: Op,
  path: string | undefined,
  which: 'path' | 'path2',
  targets: string[] | null,
): Decision {
  for (const { rule, globs, trees, argvs } of rules) {
    if (!ruleHasOp(rule, op)) continue;
    let matched: Decision['matched'] | null = null;
    if (op === 'exec' && targets && trees.some((P) => targets.some((t) => isWithin(P, t)))) matched = 'tree';
    else if (op === 'exec' && ev.argv && argvs.some((a) => a.match(ev.argv ?? [], ev.path))) matched = 'argv';
    else if (path !== undefined && globs.some((g) => g.match(path))) matched = which;
    if (matched)
      return {
        decision: rule.decision,
        ruleId: rule.id,
        band: rule.band,
        why: rule.why,
        matched,
        rule,
        ...holdParams(policy, rule),
      };
  }
  return NO_RULE;
}

/**
 * Decides one event (WIRE.md §1): built-in checks first (`builtin-state-dir`: any path that is the state dir, the
 * socket or beneath the state dir; `builtin-protect-ancestor`: rename/delete whose source is the workspace, the
 * state dir or an ancestor of either), then the rules, first match wins. An exec that is a recursive delete has
 * its targets resolved against `cwd` (realpath semantics) for `tree` matchers; `argv` matchers (WIRE.md §3) see
 * the exec's argv with argv[0] replaced by the basename of `path`. Rename is evaluated per path and
 * link as create (new name) + write (source); the stricter decision wins. No match → deny `no-rule`.
 */
export function evaluate(policy: Policy, vars: PolicyVars, ev: PolicyEvent): Decision {
  const socket = vars.socket ?? `${vars.state}/warden.sock`;
  for (const p of [ev.path, ev.path2])
    if (p !== undefined && (p === socket || isWithin(p, vars.state)))
      return builtin(
        'builtin-state-dir',
        "Warden's state (journal, pre-images, control socket) is off limits to agents.",
      );
  if ((ev.op === 'rename' || ev.op === 'delete') && ev.path !== undefined)
    if (isWithin(vars.workspace, ev.path) || isWithin(vars.state, ev.path))
      return builtin(
        'builtin-protect-ancestor',
        "Moving or removing the workspace, Warden's state or a parent of them.",
      );

  const rules = compileRules(policy, vars);
  const raw = ev.op === 'exec' && ev.argv ? recursiveDeleteTargets(ev.argv) : null;
  const targets = raw && raw.map((t) => resolveTarget(t, ev.cwd));
  const checks: [string | undefined, Op, 'path' | 'path2'][] =
    ev.op === 'link'
      ? [
          [ev.path, 'create', 'path'],
          [ev.path2, 'write', 'path2'],
        ]
      : ev.op === 'rename'
        ? [
            [ev.path, 'rename', 'path'],
            [ev.path2, 'rename', 'path2'],
          ]
        : [[ev.path, ev.op, 'path']];
  let best: Decision | null = null;
  for (const [p, op, which] of checks) {
    if (p === undefined && which === 'path2') continue;
    const d = firstMatch(policy, rules, ev, op, p, which, targets);
    if (!best || STRICTNESS[d.decision] > STRICTNESS[best.decision]) best = d;
  }
  return best ?? NO_RULE;
}
