/**
 * The scenario pattern: build a tree, hash it, run a real command under `warden run`, check the journal,
 * `warden rollback`, and assert the tree hash is identical to before.
 */
import assert from 'node:assert/strict';
import { mkdirSync } from 'node:fs';
import { join } from 'node:path';
import { hashTree, diffTrees } from '../helpers/tree.js';
import { guarded, runLog, warden, type Sandbox } from '../helpers/warden.js';

export interface RoundTrip {
  /** Parsed `warden log --json` of the guarded run. */
  log: ReturnType<typeof runLog>;
  /** Exit status of the guarded command. */
  status: number | null;
  stderr: string;
}

/**
 * Makes `<sandbox ws>/<name>`, lets `build(dir)` fill it, runs `cmd` (argv) there under warden with that dir
 * as the workspace, asserts the command changed the tree, rolls back and asserts the tree is identical.
 */
export function roundTrip(
  sb: Sandbox,
  name: string,
  build: (dir: string) => void,
  cmd: string[],
  opts: { expectStatus?: number } = {},
): RoundTrip {
  const dir = join(sb.ws, name);
  mkdirSync(dir, { recursive: true });
  build(dir);
  const before = hashTree(dir);
  const r = guarded(sb, cmd, { cwd: dir, extra: ['--workspace', dir] });
  assert.equal(r.status, opts.expectStatus ?? 0, `guarded command exited ${r.status}: ${r.stderr}`);
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
  return { log, status: r.status, stderr: r.stderr };
}

/** Events of a log with the given op (and decision, if given). */
export function eventsOf(log: RoundTrip['log'], op: string, decision?: string): Record<string, unknown>[] {
  return log.events.filter((e) => e.op === op && (decision === undefined || e.decision === decision));
}
