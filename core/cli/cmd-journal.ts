/**
 * Journal commands: `warden verify` (tamper check of the journal) and `warden runs show ID|last` (a run's
 * details, counts, irreversibility ledger, faults and rollbacks). Registered by main.ts through
 * registerJournalCommands, after its `runs` command (if `runs` is not registered yet, one is created that only
 * has `show`). Inputs from the daemon are validated with zod.
 */
import { Option, type Command } from 'commander';
import { z } from 'zod';
import {
  formatTime,
  parseRunRef,
  printJson,
  showArgv,
  showPath,
  withDaemon,
  type GlobalOpts,
} from './common.js';

export const verifyResult = z
  .object({
    ok: z.boolean(),
    rows: z.number(),
    tables: z.record(z.string(), z.number()).optional(),
    firstBad: z
      .object({
        table: z.string().optional(),
        id: z.number(),
        seq: z.number().nullable(),
        run: z.number().nullable(),
        problem: z.enum(['edited', 'deleted', 'reordered', 'inserted']),
        detail: z.string().optional(),
      })
      .passthrough()
      .optional(),
  })
  .passthrough();

const ledgerEntry = z
  .object({ seq: z.number(), op: z.string(), path: z.string(), why: z.string() })
  .passthrough();

export const runShow = z
  .object({
    run: z
      .object({
        id: z.number(),
        startedAt: z.number(),
        endedAt: z.number().nullable(),
        argv: z.array(z.string()),
        cwd: z.string().nullable().optional(),
        workspace: z.string().nullable(),
        status: z.string(),
        exitCode: z.number().nullable(),
        signal: z.union([z.number(), z.string()]).nullable().optional(),
      })
      .passthrough(),
    summary: z
      .object({ events: z.number(), denied: z.number(), preimages: z.number(), irreversible: z.number() })
      .passthrough(),
    ledger: z.array(ledgerEntry),
    faults: z.array(z.object({ ts: z.number(), what: z.string() }).passthrough()),
    rollbacks: z.array(
      z
        .object({
          id: z.number(),
          createdAt: z.number(),
          status: z.string(),
          undoOf: z.number().nullable(),
          undoneBy: z.number().nullable(),
          applied: z.number().nullable(),
          skipped: z.number().nullable(),
          conflicts: z.number(),
          errors: z.number(),
        })
        .passthrough(),
    ),
  })
  .passthrough();

/** Text of `warden verify`. */
export function renderVerify(v: z.infer<typeof verifyResult>): string {
  if (v.ok) {
    const t = v.tables
      ? ` (${Object.entries(v.tables)
          .map(([k, n]) => `${n} ${k}`)
          .join(', ')})`
      : '';
    return `Journal intact: ${v.rows} row(s) verified${t}.\n`;
  }
  const b = v.firstBad;
  if (!b) return 'Journal verification FAILED.\n';
  const where = [
    b.table ? `${b.table} row ${b.id}` : `row ${b.id}`,
    b.run !== null ? `run ${b.run}` : '',
    b.seq !== null ? `event #${b.seq}` : '',
  ]
    .filter(Boolean)
    .join(', ');
  return `Journal verification FAILED after ${v.rows} row(s): ${b.problem} at ${where}${b.detail ? `\n  ${b.detail}` : ''}\n`;
}

/** Text of `warden runs show`. */
export function renderRunShow(s: z.infer<typeof runShow>): string {
  const r = s.run;
  const out = [
    `Run ${r.id}: ${showArgv(r.argv)}`,
    `  status     ${r.status}${r.exitCode !== null ? ` (exit ${r.exitCode})` : ''}${r.signal ? ` signal ${r.signal}` : ''}`,
    `  started    ${formatTime(r.startedAt)}`,
    `  ended      ${formatTime(r.endedAt)}`,
    `  workspace  ${r.workspace ? showPath(r.workspace) : '-'}`,
    `  events     ${s.summary.events} (${s.summary.denied} denied, ${s.summary.preimages} pre-images kept)`,
  ];
  if (s.ledger.length === 0)
    out.push('Irreversible: nothing — a rollback can undo every effect of this run.');
  else {
    out.push(`Irreversible (${s.ledger.length}): a rollback cannot undo these`);
    for (const l of s.ledger) out.push(`  #${l.seq} ${l.op.padEnd(8)} ${showPath(l.path)}  — ${l.why}`);
  }
  if (s.faults.length) {
    out.push(`Faults (${s.faults.length}):`);
    for (const f of s.faults) out.push(`  ${formatTime(f.ts)}  ${showPath(f.what)}`);
  }
  if (s.rollbacks.length) {
    out.push('Rollbacks:');
    for (const b of s.rollbacks) {
      const what =
        b.undoOf !== null
          ? `undo of rollback ${b.undoOf}`
          : `${b.applied ?? 0} applied, ${b.skipped ?? 0} skipped${b.conflicts ? `, ${b.conflicts} conflict(s)` : ''}`;
      out.push(
        `  ${String(b.id).padStart(4)}  ${formatTime(b.createdAt)}  ${b.status}${b.undoneBy !== null ? ` (by ${b.undoneBy})` : ''}  ${what}${b.errors ? `, ${b.errors} error(s)` : ''}`,
      );
    }
  }
  return out.join('\n') + '\n';
}

/**
 * Lines for a rollback plan's `conflicts` (paths changed since the run; skipped unless forced), for the
 * dry-run text (renderPlan): e.g. `process.stdout.write(renderPlan(plan) + renderConflicts(plan))`.
 */
export function renderConflicts(plan: unknown): string {
  const c = (plan as { conflicts?: { path: string; reason: string; seqs?: number[] }[] }).conflicts ?? [];
  if (c.length === 0) return '';
  const out = [
    `Conflicts (${c.length}): changed since the run, skipped unless forced (then moved aside first)`,
  ];
  for (const x of c)
    out.push(
      `  conflict  ${showPath(x.path)}  (${x.reason})${x.seqs?.length ? `  [event #${x.seqs.join(', #')}]` : ''}`,
    );
  return out.join('\n') + '\n';
}

const stateOption = () =>
  new Option('--state <dir>', 'state dir (default: $WARDEN_STATE, else $XDG_STATE_HOME/warden)');

/**
 * Registers `warden verify [--json]` and `warden runs show ID|last [--json]` on `program`. Call it after the
 * `runs` command is defined. Daemon methods used: `journal.verify` ({}) and `run.show` ({run}).
 */
export function registerJournalCommands(program: Command): void {
  program
    .command('verify')
    .description('check that the journal has not been edited, truncated or reordered (hash chain + HMAC)')
    .option('--json', 'machine-readable output')
    .addOption(stateOption())
    .action(async (opts: GlobalOpts & { json?: boolean }) =>
      withDaemon(opts, async (c) => {
        const v = verifyResult.parse(await c.call('journal.verify', {}));
        if (opts.json) printJson(v);
        else process.stdout.write(renderVerify(v));
        if (!v.ok) process.exitCode = 1;
      }),
    );

  let runs = program.commands.find((c) => c.name() === 'runs');
  if (!runs) runs = program.command('runs').description('runs');
  // Options after `show` belong to `show`, not to `runs` (which has its own --json/--limit).
  runs.enablePositionalOptions();
  runs
    .command('show')
    .description("a run's details, counts, what cannot be undone (irreversibility ledger) and its rollbacks")
    .argument('<run>', 'run id or "last"')
    .option('--json', 'machine-readable output')
    .addOption(stateOption())
    .action(async (ref: string, opts: GlobalOpts & { json?: boolean }) =>
      withDaemon(opts, async (c) => {
        const s = runShow.parse(await c.call('run.show', { run: parseRunRef(ref) }));
        if (opts.json) printJson(s);
        else process.stdout.write(renderRunShow(s));
      }),
    );
}
