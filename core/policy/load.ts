// Loading policy files: YAML (with positions) → zod → glob checks → one ordered Policy. Every problem becomes a
// PolicyIssue with file:line:column so `warden policy check` can point at it.
import { readFileSync } from 'node:fs';
import { basename } from 'node:path';
import { Document, isMap, isPair, isScalar, isSeq, LineCounter, parseDocument, type Node } from 'yaml';
import { compileArgv, expandGlob, expandTree, GlobError, type PolicyVars } from './glob.js';
import {
  BAND_RE,
  DEFAULT_SETTINGS,
  policyFileSchema,
  type Policy,
  type PolicyFileSpec,
  type PolicyRule,
  type PolicySettings,
  type RuleSpec,
} from './schema.js';

/** One problem in a policy file; `line` and `column` are 1-based. */
export interface PolicyIssue {
  file: string;
  line: number;
  column: number;
  message: string;
}

/** Thrown by {@link loadPolicy}; `.issues` lists every problem found, in file order. */
export class PolicyError extends Error {
  constructor(readonly issues: PolicyIssue[]) {
    super(issues.map(formatIssue).join('\n'));
    this.name = 'PolicyError';
  }
}

/** `file:line:column: message` (the format compilers use, so editors can jump to it). */
export function formatIssue(i: PolicyIssue): string {
  return `${i.file}:${i.line}:${i.column}: ${i.message}`;
}

/** Stand-in variables for validating patterns before a run's real ones are known. */
const CHECK_VARS: PolicyVars = { workspace: '/ws', home: '/home', tmp: ['/tmp'], state: '/state' };

type Path = (string | number)[];

/** The YAML node at `path` (or, for an unknown key, the key itself; else the deepest existing ancestor). */
function nodeAt(doc: Document, path: Path, keyNamed?: string): Node | null {
  let node: unknown = doc.contents;
  for (const seg of path) {
    let next: unknown;
    if (isMap(node)) next = node.items.find((p) => isScalar(p.key) && p.key.value === seg)?.value;
    else if (isSeq(node)) next = node.items[Number(seg)];
    if (!next) break;
    node = next;
  }
  if (keyNamed !== undefined && isMap(node)) {
    const pair = node.items.find((p) => isPair(p) && isScalar(p.key) && p.key.value === keyNamed);
    if (pair && isScalar(pair.key)) return pair.key;
  }
  return (node as Node | null) ?? null;
}

interface FileResult {
  band: string;
  file: string;
  description?: string;
  settings: Partial<PolicySettings>;
  rules: PolicyRule[];
  issues: PolicyIssue[];
}

/** The settings a file sets, renamed to PolicySettings keys (absent keys stay absent). */
function toSettings(s: PolicyFileSpec['settings']): Partial<PolicySettings> {
  const out: Partial<PolicySettings> = {};
  if (!s) return out;
  if (s.delete_delay !== undefined) out.deleteDelayMs = s.delete_delay;
  if (s.ask_timeout !== undefined) out.askTimeoutMs = s.ask_timeout;
  if (s.bulk !== undefined) out.bulk = { count: s.bulk.count, windowMs: s.bulk.window };
  if (s.burst_idle !== undefined) out.idleMs = s.burst_idle;
  if (s.repeat !== undefined) out.repeat = s.repeat;
  return out;
}

/** The policy's settings with WIRE.md §3 defaults for every key no band set. */
export function policySettings(policy: Pick<Policy, 'settings'>): PolicySettings {
  const s = policy.settings;
  return {
    deleteDelayMs: s.deleteDelayMs ?? DEFAULT_SETTINGS.deleteDelayMs,
    askTimeoutMs: s.askTimeoutMs ?? DEFAULT_SETTINGS.askTimeoutMs,
    bulk: { ...(s.bulk ?? DEFAULT_SETTINGS.bulk) },
    idleMs: s.idleMs ?? DEFAULT_SETTINGS.idleMs,
    repeat: s.repeat ?? DEFAULT_SETTINGS.repeat,
  };
}

function loadFile(file: string): FileResult {
  const res: FileResult = {
    band: basename(file).replace(/\.ya?ml$/, ''),
    file,
    settings: {},
    rules: [],
    issues: [],
  };
  const lc = new LineCounter();
  const at = (offset: number | undefined, message: string) => {
    const { line, col } = lc.linePos(offset ?? 0);
    res.issues.push({ file, line, column: col, message });
  };
  let text: string;
  try {
    text = readFileSync(file, 'utf8');
  } catch (err) {
    res.issues.push({ file, line: 1, column: 1, message: `cannot read: ${(err as Error).message}` });
    return res;
  }
  const doc = parseDocument(text, { lineCounter: lc, prettyErrors: false, uniqueKeys: true });
  for (const e of doc.errors) at(e.pos[0], e.message);
  if (doc.errors.length > 0) return res;
  const parsed = policyFileSchema.safeParse(doc.toJS());
  if (!parsed.success) {
    for (const iss of parsed.error.issues) {
      const path = iss.path as Path;
      if (iss.code === 'unrecognized_keys')
        for (const k of iss.keys) at(nodeAt(doc, path, k)?.range?.[0], `unknown key ${JSON.stringify(k)}`);
      else {
        const where = path.length ? ` (${path.join('.')})` : '';
        at(nodeAt(doc, path)?.range?.[0], `${iss.message}${where}`);
      }
    }
    return res;
  }
  const spec = parsed.data;
  if (spec.band !== undefined) res.band = spec.band;
  else if (!BAND_RE.test(res.band))
    at(
      0,
      `file name ${JSON.stringify(basename(file))} is not a band like 10-protected.yaml: add band: NN-name`,
    );
  res.description = spec.description;
  res.settings = toSettings(spec.settings);
  spec.rules.forEach((r, i) => {
    const pos = lc.linePos(nodeAt(doc, ['rules', i, 'id'])?.range?.[0] ?? 0);
    const rule = toRule(r, res.band, file, pos.line, pos.col);
    const lists = [
      ['path', rule.paths, expandGlob],
      ['tree', rule.trees, expandTree],
    ] as const;
    for (const [key, raws, expand] of lists)
      raws.forEach((raw, j) => {
        try {
          expand(raw, CHECK_VARS);
        } catch (err) {
          if (!(err instanceof GlobError)) throw err;
          const p: Path = ['rules', i, 'match', key];
          at(nodeAt(doc, Array.isArray(r.match[key]) ? [...p, j] : p)?.range?.[0], `${key} ${err.message}`);
        }
      });
    const argvs = r.match.command?.argv;
    rule.argvs.forEach((alt, j) => {
      try {
        compileArgv(alt);
      } catch (err) {
        if (!(err instanceof GlobError)) throw err;
        const p: Path = ['rules', i, 'match', 'command', 'argv'];
        const nested = Array.isArray(argvs?.[0]);
        // Point at the offending element when we can tell which one it is.
        const k = alt.findIndex((e) => {
          try {
            compileArgv([e]);
            return false;
          } catch {
            return true;
          }
        });
        const where = nested ? [...p, j, ...(k >= 0 ? [k] : [])] : [...p, ...(k >= 0 ? [k] : [])];
        at(nodeAt(doc, where)?.range?.[0], `command argv ${err.message}`);
      }
    });
    res.rules.push(rule);
  });
  return res;
}

const isArgvList = (a: string[] | string[][]): a is string[][] => Array.isArray(a[0]);

function toRule(r: RuleSpec, band: string, file: string, line: number, column: number): PolicyRule {
  const list = (v: string | string[] | undefined) => (v === undefined ? [] : [v].flat());
  const m = r.match;
  return {
    id: r.id,
    band,
    file,
    line,
    column,
    why: r.why,
    ops: m.op === '*' ? '*' : [...new Set([m.op].flat())],
    paths: list(m.path),
    trees: list(m.tree),
    decision: r.decision,
    delayMs: r.delay,
    timeoutMs: r.timeout,
    fallback: r.fallback,
    limit: r.limit && { count: r.limit.count, windowMs: r.limit.window },
    pending: (['host', 'agent'] as const).filter((k) => m[k] !== undefined),
    argvs: m.command === undefined ? [] : isArgvList(m.command.argv) ? m.command.argv : [m.command.argv],
    hosts: m.host === undefined ? undefined : list(m.host),
    agent: m.agent,
  };
}

function loadAll(files: string[]): { policy: Policy; issues: PolicyIssue[] } {
  const results = files.map(loadFile);
  const bandNum = (b: string) => Number(/^\d+/.exec(b)?.[0] ?? 99);
  const ordered = results
    .map((r, i) => ({ r, i }))
    .sort((a, b) => bandNum(a.r.band) - bandNum(b.r.band) || a.i - b.i);
  const issues = results.flatMap((r) => r.issues);
  const seen = new Map<string, PolicyRule>();
  const policy: Policy = { bands: [], rules: [], settings: {} };
  for (const { r } of ordered) {
    policy.bands.push({ band: r.band, file: r.file, description: r.description });
    Object.assign(policy.settings, r.settings);
    for (const rule of r.rules) {
      const first = seen.get(rule.id);
      if (first) {
        const msg = `duplicate rule id ${JSON.stringify(rule.id)} (first defined at ${first.file}:${first.line})`;
        issues.push({ file: rule.file, line: rule.line, column: rule.column, message: msg });
      } else seen.set(rule.id, rule);
      policy.rules.push(rule);
    }
  }
  return { policy, issues };
}

/**
 * Loads policy files into one Policy: files ordered by the numeric prefix of their band (stable for equal
 * bands), rules first-match-wins in that order.
 * @throws PolicyError listing every issue (YAML syntax, schema, globs, duplicate ids) with file:line:column.
 */
export function loadPolicy(files: string[]): Policy {
  const { policy, issues } = loadAll(files);
  if (issues.length > 0) throw new PolicyError(issues);
  return policy;
}

/** Every issue in `files` (empty = valid), for `warden policy check`. Never throws for bad content. */
export function checkPolicyFiles(files: string[]): PolicyIssue[] {
  return loadAll(files).issues;
}
