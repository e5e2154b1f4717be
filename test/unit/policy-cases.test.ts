// Runs every test/policy-cases/*.yaml case against the TS engine and, when helper/linux/build/warden-match is
// built, against the C matcher with the compiled run table (DESIGN.md: "must agree"). warden-match reads
// `op\tpath\tpath2\tcwd\targv0\targv1…` lines (table escaping) on stdin and writes `decision\trule-id` lines.
// A warden-match that predates WIRE.md §3 (no `argv` rules, hold params or settings records) gets the table
// without them, and the cases those could decide (exec events with argv, when the policy has argv rules) are
// reported skipped for the C half with the reason, never counted as passed.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import {
  existsSync,
  mkdirSync,
  mkdtempSync,
  readdirSync,
  readFileSync,
  realpathSync,
  rmSync,
  symlinkSync,
  writeFileSync,
} from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { parse } from 'yaml';
import { z } from 'zod';
import {
  compileTable,
  evaluate,
  loadPolicy,
  OPS,
  type Policy,
  type PolicyEvent,
  type PolicyVars,
  type TableHeader,
} from '../../core/policy/index.js';
import { escapeField, parseTableLine } from '../../core/wire/table.js';

const root = fileURLToPath(new URL('../../..', import.meta.url));
const casesDir = join(root, 'test', 'policy-cases');
// WARDEN_MATCH overrides the matcher binary (e.g. to check an older build against these cases).
const matcher = process.env.WARDEN_MATCH ?? join(root, 'helper', 'linux', 'build', 'warden-match');
const DEFAULT_VARS: PolicyVars = {
  workspace: '/w/proj',
  home: '/w/home',
  tmp: ['/tmp'],
  state: '/w/home/.local/state/warden',
};

const caseSchema = z
  .object({
    note: z.string(),
    vars: z
      .object({ workspace: z.string(), home: z.string(), tmp: z.array(z.string()), state: z.string() })
      .strict()
      .optional(),
    real: z.boolean().optional(),
    mkdirs: z.array(z.string()).optional(),
    symlinks: z.record(z.string(), z.string()).optional(),
    event: z
      .object({
        op: z.enum([...OPS, 'link']),
        path: z.string().optional(),
        path2: z.string().optional(),
        cwd: z.string().optional(),
        argv: z.array(z.string()).optional(),
      })
      .strict(),
    want: z
      .object({
        decision: z.string(),
        rule: z.string(),
        // Hold parameters the TS Decision must carry (checked only when given; warden-match prints none).
        delay_ms: z.number().optional(),
        timeout_ms: z.number().optional(),
        fallback: z.enum(['allow', 'deny']).optional(),
      })
      .strict(),
  })
  .strict();
type Case = z.infer<typeof caseSchema>;
const fileSchema = z.union([
  z.array(caseSchema),
  z
    .object({
      /** Policy files relative to this directory; default: policies/*.yaml. */
      policy: z.array(z.string()).optional(),
      /** Records (kind, then fields, unescaped) the table compiled with the default vars must contain. */
      table: z.array(z.array(z.string()).min(1)).optional(),
      cases: z.array(caseSchema),
    })
    .strict(),
]);

/** A case made concrete: `real` cases are moved under a fresh temp dir whose directories exist. */
interface Prepared {
  vars: PolicyVars;
  event: PolicyEvent;
  cleanup: () => void;
}
function prepare(c: Case): Prepared {
  const vars = c.vars ?? DEFAULT_VARS;
  if (!c.real) return { vars, event: c.event, cleanup: () => {} };
  const t = realpathSync(mkdtempSync(join(tmpdir(), 'warden-case-')));
  const at = (p: string) => (p === '/' ? t : p.startsWith('/') ? t + p : p);
  const v: PolicyVars = {
    workspace: at(vars.workspace),
    home: at(vars.home),
    tmp: vars.tmp.map(at),
    state: at(vars.state),
  };
  for (const d of [v.workspace, v.home, v.state, ...v.tmp, ...(c.mkdirs ?? []).map(at)])
    mkdirSync(d, { recursive: true });
  for (const [link, target] of Object.entries(c.symlinks ?? {})) symlinkSync(at(target), at(link));
  const e = c.event;
  const event: PolicyEvent = {
    op: e.op,
    path: e.path && at(e.path),
    path2: e.path2 && at(e.path2),
    cwd: e.cwd && at(e.cwd),
    argv: e.argv?.map(at),
  };
  return { vars: v, event, cleanup: () => rmSync(t, { recursive: true, force: true }) };
}

const header = (vars: PolicyVars, dir: string): TableHeader => ({
  run: 1,
  state: vars.state,
  socket: `${vars.state}/warden.sock`,
  events: join(dir, 'events.ndjson'),
  stage: dir,
  home: vars.home,
  workspace: vars.workspace,
  preimageMax: 1 << 20,
  landlock: false,
});

const HOLD_RECORDS = ['trash', 'delete_delay_ms', 'ask_timeout_ms', 'bulk', 'idle_ms', 'repeat'];

/** The table without WIRE.md §3 additions (settings records, the 8th rule field, `argv` rules). */
function withoutHolds(table: string): string {
  return table
    .split('\n')
    .filter((l) => !HOLD_RECORDS.includes(l.split('\t')[0] ?? ''))
    .filter((l) => !(l.startsWith('rule\t') && l.split('\t')[5] === 'argv'))
    .map((l) => (l.startsWith('rule\t') ? l.split('\t').slice(0, 7).join('\t') : l))
    .join('\n');
}

/**
 * null when warden-match understands WIRE.md §3 tables (argv rules, hold params, settings records), else why
 * not. Probed once with a table that uses all three.
 */
const holdsUnsupported: string | null = (() => {
  if (!existsSync(matcher)) return null;
  const dir = mkdtempSync(join(tmpdir(), 'warden-probe-'));
  try {
    const p = join(dir, '35-probe.yaml');
    writeFileSync(
      p,
      'settings: { delete_delay: 1s }\nrules:\n' +
        '  - { id: a, why: w, match: { op: exec, command: { argv: [git, "**"] } }, decision: ask, timeout: 1s }\n',
    );
    const vars = { ...DEFAULT_VARS };
    const table = join(dir, 'table');
    writeFileSync(table, compileTable(loadPolicy([p]), vars, header(vars, dir)));
    const r = spawnSync(matcher, [table], {
      input: `${['exec', '/usr/bin/git', '', '/', 'git', 'status'].join('\t')}\n`,
      encoding: 'utf8',
    });
    if (r.status === 0 && r.stdout === 'ask\ta\n') return null;
    return `warden-match predates WIRE.md §3 (argv rules / hold params / settings): ${(r.stderr || r.stdout).trim()}`;
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
})();

/** Runs warden-match on `events` with the table for (policy, vars); returns `decision\trule` per event. */
function runMatcher(policy: Policy, vars: PolicyVars, events: PolicyEvent[]): string[] {
  const dir = mkdtempSync(join(tmpdir(), 'warden-match-'));
  try {
    const table = join(dir, 'table');
    const text = compileTable(policy, vars, header(vars, dir));
    writeFileSync(table, holdsUnsupported === null ? text : withoutHolds(text));
    const input = events
      .map((e) =>
        [e.op, e.path ?? '', e.path2 ?? '', e.cwd ?? '', ...(e.argv ?? [])].map(escapeField).join('\t'),
      )
      .join('\n');
    const r = spawnSync(matcher, [table], { input: `${input}\n`, encoding: 'utf8' });
    assert.equal(r.status, 0, `warden-match exited ${r.status}: ${r.stderr}`);
    return r.stdout.split('\n').slice(0, events.length);
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}

const defaultPolicy = loadPolicy(
  readdirSync(join(root, 'policies'))
    .filter((f) => f.endsWith('.yaml'))
    .map((f) => join(root, 'policies', f)),
);

for (const name of readdirSync(casesDir)
  .filter((f) => f.endsWith('.yaml'))
  .sort()) {
  const spec = fileSchema.parse(parse(readFileSync(join(casesDir, name), 'utf8')));
  const cases = Array.isArray(spec) ? spec : spec.cases;
  const policy =
    Array.isArray(spec) || !spec.policy
      ? defaultPolicy
      : loadPolicy(spec.policy.map((p) => join(casesDir, p)));

  for (const c of cases) {
    test(`policy-cases/${name}: ${c.note} [ts]`, () => {
      const p = prepare(c);
      try {
        const d = evaluate(policy, p.vars, p.event);
        const { delay_ms, timeout_ms, fallback, ...want } = c.want;
        assert.deepEqual({ decision: d.decision, rule: d.ruleId }, want);
        if (delay_ms !== undefined) assert.equal(d.delayMs, delay_ms, 'delayMs');
        if (timeout_ms !== undefined) assert.equal(d.timeoutMs, timeout_ms, 'timeoutMs');
        if (fallback !== undefined) assert.equal(d.fallback, fallback, 'fallback');
      } finally {
        p.cleanup();
      }
    });
  }

  const records = Array.isArray(spec) ? undefined : spec.table;
  if (records)
    test(`policy-cases/${name}: the compiled table has the listed records`, () => {
      const text = compileTable(policy, DEFAULT_VARS, header(DEFAULT_VARS, '/nonexistent'));
      const have = text
        .trimEnd()
        .split('\n')
        .filter((l) => !l.startsWith('#'))
        .map((l) => {
          const { kind, fields } = parseTableLine(l);
          return JSON.stringify([kind, ...fields]);
        });
      for (const r of records) assert.ok(have.includes(JSON.stringify(r)), `missing ${JSON.stringify(r)}`);
    });

  // Cases a table without §3 additions cannot decide the way the full table would.
  const hasArgvRules = policy.rules.some((r) => r.argvs.length > 0);
  const needsHolds = (c: Case) => hasArgvRules && c.event.op === 'exec' && (c.event.argv?.length ?? 0) > 0;
  const runnable = holdsUnsupported === null ? cases : cases.filter((c) => !needsHolds(c));
  const deferred = holdsUnsupported === null ? [] : cases.filter(needsHolds);

  if (deferred.length > 0)
    test(`policy-cases/${name}: C matcher agrees on ${deferred.length} argv case(s)`, (t) =>
      t.skip(`${holdsUnsupported} (make -C helper/linux once it supports them)`));

  test(`policy-cases/${name}: C matcher agrees`, (t) => {
    if (!existsSync(matcher))
      return t.skip(`warden-match not built: ${matcher} is missing (make -C helper/linux)`);
    if (runnable.length === 0) return t.skip('every case here needs argv rules in the C matcher');
    const failures: string[] = [];
    // Cases sharing vars share one table and one matcher process; real cases each get their own temp dir.
    const groups = new Map<string, { p: Prepared; c: Case }[]>();
    for (const c of runnable) {
      const p = prepare(c);
      const key = c.real ? `real:${groups.size}` : JSON.stringify(p.vars);
      groups.set(key, [...(groups.get(key) ?? []), { p, c }]);
    }
    try {
      for (const group of groups.values()) {
        const out = runMatcher(
          policy,
          group[0]!.p.vars,
          group.map((g) => g.p.event),
        );
        group.forEach(({ c }, i) => {
          const want = `${c.want.decision}\t${c.want.rule}`;
          if (out[i] !== want)
            failures.push(`${c.note}: C said ${JSON.stringify(out[i])}, want ${JSON.stringify(want)}`);
        });
      }
    } finally {
      for (const g of groups.values()) for (const { p } of g) p.cleanup();
    }
    assert.deepEqual(failures, []);
  });
}
