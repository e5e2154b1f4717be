/**
 * Text renderings of journal data for the terminal (`warden runs`, `warden log`, `warden rollback`).
 * Input shapes are validated with zod: they come from the daemon over a process boundary.
 */
import { z } from 'zod';
import { formatTime, showArgv, showPath } from './common.js';

export const runRow = z
  .object({
    id: z.number(),
    startedAt: z.number(),
    endedAt: z.number().nullable(),
    argv: z.array(z.string()),
    workspace: z.string().nullable(),
    status: z.string(),
    exitCode: z.number().nullable(),
  })
  .passthrough();

export const eventRow = z
  .object({
    seq: z.number(),
    ts: z.number(),
    pid: z.number(),
    op: z.string(),
    path: z.string().nullable(),
    path2: z.string().nullable().optional(),
    decision: z.string(),
    ruleId: z.string().nullable(),
    errno: z.number().nullable().optional(),
    pre: z.unknown().optional(),
    preSha: z.string().nullable().optional(),
    argv: z.array(z.string()).nullable().optional(),
  })
  .passthrough();

const chainEntry = z
  .object({ pid: z.number(), argv: z.array(z.string()).nullable().optional() })
  .passthrough();
export const logResult = z.object({
  run: runRow,
  events: z.array(eventRow),
  chains: z.record(z.string(), z.array(chainEntry)),
});

export const summaryShape = z
  .object({ events: z.number(), denied: z.number(), preimages: z.number() })
  .passthrough();

/** One line per run, newest first. */
export function renderRuns(
  rows: z.infer<typeof runRow>[],
  summaries: Map<number, z.infer<typeof summaryShape>>,
): string {
  if (rows.length === 0) return 'No runs yet. Start one with `warden run -- <command>`.\n';
  const lines = ['RUN  STARTED              STATUS   EXIT  EVENTS  DENIED  PRE-IMAGES  COMMAND'];
  for (const r of rows) {
    const s = summaries.get(r.id);
    lines.push(
      [
        String(r.id).padEnd(4),
        formatTime(r.startedAt).padEnd(20),
        r.status.padEnd(8),
        String(r.exitCode ?? '-').padEnd(5),
        String(s?.events ?? '-').padEnd(7),
        String(s?.denied ?? '-').padEnd(7),
        String(s?.preimages ?? '-').padEnd(11),
        showArgv(r.argv),
      ].join(' '),
    );
  }
  return lines.join('\n') + '\n';
}

function preKind(pre: unknown): string {
  if (
    pre &&
    typeof pre === 'object' &&
    'kind' in pre &&
    typeof pre.kind === 'string' &&
    pre.kind !== 'none'
  ) {
    return `pre-image:${pre.kind}`;
  }
  return '';
}

/** The timeline of one run: process, op, decision, rule, paths. */
export function renderLog(data: z.infer<typeof logResult>): string {
  const r = data.run;
  const out = [
    `Run ${r.id}: ${showArgv(r.argv)}`,
    `  workspace ${r.workspace ?? '-'} · started ${formatTime(r.startedAt)} · ${r.status}${r.exitCode !== null ? ` (exit ${r.exitCode})` : ''}`,
  ];
  if (data.events.length === 0) out.push('  (no side effects recorded)');
  for (const e of data.events) {
    const chain = data.chains[String(e.pid)] ?? [];
    const who = chain[0]?.argv ? showArgv(chain[0].argv).slice(0, 60) : `pid ${e.pid}`;
    const paths = e.path2 ? `${showPath(e.path ?? '')} -> ${showPath(e.path2)}` : showPath(e.path ?? '');
    const err = e.errno ? ` errno=${e.errno}` : '';
    const what = e.op === 'exec' && e.argv ? showArgv(e.argv) : paths;
    out.push(
      `  #${String(e.seq).padEnd(5)} ${formatTime(e.ts).slice(11)} ${e.op.padEnd(7)} ${e.decision.padEnd(6)} ${what}  [${e.ruleId ?? '-'}${err}] ${preKind(e.pre)}  (${who})`,
    );
  }
  return out.join('\n') + '\n';
}
