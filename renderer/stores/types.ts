// Shapes of the daemon's results (core/journal/types.ts, core/rollback/*.ts, core/policy/compile.ts) as the
// UI reads them. The renderer may import only the API contract, so these are restated here, loosely.

export interface RunRow {
  id: number;
  startedAt: number;
  endedAt: number | null;
  argv: string[];
  cwd: string | null;
  workspace: string | null;
  status: 'running' | 'ended' | 'failed' | string;
  exitCode: number | null;
  signal: number | string | null;
  summary: Record<string, unknown> | null;
}

export interface PreImage {
  kind: 'link' | 'copy' | 'meta' | 'toolarge' | 'none' | string;
  type?: string;
  size?: number;
}

/** One event of `run.log`. `by` (who decided a held event) is shown when the daemon includes it. */
export interface ApiEvent {
  seq: number;
  ts: number;
  pid: number;
  op: string;
  sys: string | null;
  path: string | null;
  path2: string | null;
  decision: string;
  ruleId: string | null;
  band: string | null;
  errno: number;
  pre: PreImage | null;
  preSha: string | null;
  argv: string[] | null;
  by?: string | null;
}

export interface RunLog {
  run: RunRow | null;
  events: ApiEvent[];
  chains?: Record<string, unknown>;
}

export interface PlanStep {
  seq: number;
  action: string;
  path: string;
  path2?: string;
  note: string;
  conflict?: string;
}

export interface RollbackPlan {
  run: number;
  createdAt: number;
  steps: PlanStep[];
  irreversible: PlanStep[];
  conflicts: { path: string; reason: string; seqs: number[] }[];
}

export interface ApplyResult {
  rollbackId: number;
  applied: number;
  skipped: number;
  movedAside: { path: string; aside: string; seq: number }[];
  errors: { seq: number; path: string; message: string }[];
  conflicts: { seq: number; path: string; reason: string }[];
  undoOf?: number;
}

export interface RuleRow {
  id: string;
  band: string;
  decision: string;
  ops: string[];
  patterns: string[];
}

export interface DaemonStatus {
  pid: number;
  state: string;
  runsInProgress: number[];
  helper: string | null;
  lastRun: RunRow | null;
}
