/**
 * Egress rules: the `network:` sections of the policy files in effect (core/policy/schema.ts
 * `networkRuleSchema`), evaluated first match wins in band order, after the built-in exfiltration check.
 * Bands are ordered exactly as core/policy/load.ts orders file rules (numeric band prefix, stable).
 */
import { readFileSync } from 'node:fs';
import { basename } from 'node:path';
import picomatch from 'picomatch';
import { parseDocument, LineCounter, isMap, isSeq, isScalar, type Node } from 'yaml';
import { DEFAULT_SETTINGS, policyFileSchema, type Fallback } from '../policy/schema.js';
import { exfilLabel } from './exfil.js';

/** A loaded egress rule. `line` is where its `id` is (1-based), for messages. */
export interface NetRule {
  id: string;
  band: string;
  file: string;
  line: number;
  why: string;
  hosts: string[];
  /** Undefined = every port. */
  ports?: number[];
  decision: 'allow' | 'deny' | 'ask';
  timeoutMs?: number;
  fallback?: Fallback;
  match: (host: string) => boolean;
}

/** The rules and the ask timeout (`settings.ask_timeout`, later bands win) of a set of policy files. */
export interface NetPolicy {
  rules: NetRule[];
  askTimeoutMs: number;
}

/** What the proxy does with one connection, and why. `timeoutMs`/`fallback` only for ask. */
export interface NetDecision {
  decision: 'allow' | 'deny' | 'ask';
  ruleId: string;
  band: string;
  why: string;
  timeoutMs?: number;
  fallback?: Fallback;
}

function idLine(doc: ReturnType<typeof parseDocument>, lc: LineCounter, i: number): number {
  let node: unknown = doc.contents;
  for (const seg of ['network', 'rules', i, 'id']) {
    if (isMap(node)) node = node.items.find((p) => isScalar(p.key) && p.key.value === seg)?.value;
    else if (isSeq(node)) node = node.items[Number(seg)];
    else return 1;
  }
  return lc.linePos((node as Node | undefined)?.range?.[0] ?? 0).line;
}

/**
 * Reads the `network:` rules of `files` (the same list the run's file policy was loaded from). A file that does
 * not parse is skipped here: the daemon has already refused to start a run with an invalid policy.
 */
export function loadNetworkPolicy(files: string[]): NetPolicy {
  const loaded: { band: string; i: number; rules: NetRule[]; askTimeoutMs?: number }[] = [];
  files.forEach((file, i) => {
    let text: string;
    try {
      text = readFileSync(file, 'utf8');
    } catch {
      return;
    }
    const lc = new LineCounter();
    const doc = parseDocument(text, { lineCounter: lc });
    if (doc.errors.length > 0) return;
    const parsed = policyFileSchema.safeParse(doc.toJS());
    if (!parsed.success) return;
    const band = parsed.data.band ?? basename(file).replace(/\.ya?ml$/, '');
    const rules = (parsed.data.network?.rules ?? []).map((r, k) => {
      const globs = r.hosts.map((h) => h.toLowerCase().replace(/\.$/, ''));
      const match = picomatch(globs, { nocase: true, dot: true, noextglob: true, nonegate: true });
      return {
        id: r.id,
        band,
        file,
        line: idLine(doc, lc, k),
        why: r.why ?? `Network rule ${r.id} in band ${band}.`,
        hosts: r.hosts,
        ports: r.ports,
        decision: r.decision,
        timeoutMs: r.timeout,
        fallback: r.fallback,
        match: (host: string) => match(host),
      };
    });
    loaded.push({ band, i, rules, askTimeoutMs: parsed.data.settings?.ask_timeout });
  });
  const bandNum = (b: string) => Number(/^\d+/.exec(b)?.[0] ?? 99);
  loaded.sort((a, b) => bandNum(a.band) - bandNum(b.band) || a.i - b.i);
  let askTimeoutMs = DEFAULT_SETTINGS.askTimeoutMs;
  for (const l of loaded) if (l.askTimeoutMs !== undefined) askTimeoutMs = l.askTimeoutMs;
  return { rules: loaded.flatMap((l) => l.rules), askTimeoutMs };
}

/** `Host`, lower-cased, without a trailing dot or IPv6 brackets. */
export function normalHost(host: string): string {
  return host
    .toLowerCase()
    .replace(/^\[(.*)\]$/, '$1')
    .replace(/\.$/, '');
}

/**
 * Decides a connection to `host`:`port`: built-in `builtin-exfil-hostname` (exfil.ts) first, then the rules,
 * first match wins; no match → deny `no-rule`.
 */
export function decideConnect(policy: NetPolicy, host: string, port: number): NetDecision {
  const h = normalHost(host);
  const ex = exfilLabel(h);
  if (ex)
    return {
      decision: 'deny',
      ruleId: 'builtin-exfil-hostname',
      band: 'builtin',
      why: `The hostname label "${ex.label.slice(0, 64)}" looks like encoded data (${ex.reason}): a request to it can carry data out by its name alone.`,
    };
  for (const r of policy.rules) {
    if (r.ports && !r.ports.includes(port)) continue;
    if (!r.match(h)) continue;
    const d: NetDecision = { decision: r.decision, ruleId: r.id, band: r.band, why: r.why };
    if (r.decision === 'ask') {
      d.timeoutMs = r.timeoutMs ?? policy.askTimeoutMs;
      d.fallback = r.fallback ?? 'deny';
    }
    return d;
  }
  return { decision: 'deny', ruleId: 'no-rule', band: '', why: 'No network rule matched.' };
}
