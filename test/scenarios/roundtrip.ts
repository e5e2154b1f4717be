/**
 * The scenario pattern: build a tree, hash it, run a real command under `warden run`, check the journal,
 * `warden rollback`, and assert the tree hash is identical to before. Holds raised on the way (delete delays,
 * the bulk gate, asks for destructive git commands) are answered by a stand-in person who allows them, and
 * are returned so a scenario can assert what was held.
 */
import assert from 'node:assert/strict';
import { mkdirSync } from 'node:fs';
import { join } from 'node:path';
import type { Hold } from '../../core/api/contract.js';
import { hashTree, diffTrees } from '../helpers/tree.js';
import { runLog, startApprover, warden, wardenAsync, type Sandbox } from '../helpers/warden.js';

export interface RoundTrip {
  /** Parsed `warden log --json` of the guarded run. */
  log: ReturnType<typeof runLog>;
  /** Exit status of the guarded command. */
  status: number | null;
  output: string;
  /** Holds the run raised (all allowed by the stand-in person). */
  holds: Hold[];
}

/** Runs `warden run --workspace DIR -- CMD…` in DIR asynchronously (so an in-process approver can answer holds). */
export function guardedAsync(
  sb: Sandbox,
  dir: string,
  cmd: string[],
  timeoutMs = 120_000,
): Promise<{ code: number | null; output: string }> {
  return wardenAsync(sb, ['run', '--workspace', dir, '--', ...cmd], { cwd: dir, timeoutMs });
}

/**
 * Makes `<sandbox ws>/<name>`, lets `build(dir)` fill it, runs `cmd` (argv) there under warden with that dir
 * as the workspace, asserts the command changed the tree, rolls back and asserts the tree is identical.
 */
export async function roundTrip(
  sb: Sandbox,
  name: string,
  build: (dir: string) => void,
  cmd: string[],
  opts: { expectStatus?: number } = {},
): Promise<RoundTrip> {
  const dir = join(sb.ws, name);
  mkdirSync(dir, { recursive: true });
  build(dir);
  const before = hashTree(dir);
  const approver = await startApprover(sb);
  let r;
  try {
    r = await guardedAsync(sb, dir, cmd);
  } finally {
    approver.stop();
  }
  assert.equal(r.code, opts.expectStatus ?? 0, `guarded command exited ${r.code}: ${r.output}`);
  const changed = diffTrees(before, hashTree(dir));
  assert.ok(changed.length > 0, 'the guarded command changed nothing: the scenario tests nothing');
  const log = runLog(sb);
  const rb = warden(sb, ['rollback', '--run', String(log.run.id), '--yes'], { cwd: dir });
  assert.equal(rb.status, 0, `rollback failed: ${rb.stdout}${rb.stderr}`);
  const diff = diffTrees(before, hashTree(dir));
  assert.deepEqual(
    diff,
    [],
    `after rollback these paths differ from before the run: ${JSON.stringify(diff)}`,
  );
  return { log, status: r.code, output: r.output, holds: approver.holds };
}

/** Events of a log with the given op (and decision, if given). */
export function eventsOf(log: RoundTrip['log'], op: string, decision?: string): Record<string, unknown>[] {
  return log.events.filter((e) => e.op === op && (decision === undefined || e.decision === decision));
}
