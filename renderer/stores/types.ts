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

/** A watch-mode fault: when it was raised and what failed (core/watch/daemon.ts). */
export interface WatchFault {
  ts: number;
  what: string;
}

/**
 * `status.extensions.watch` (core/watch/daemon.ts `status()`): the root helper `warden-watch` as the daemon
 * sees it. `mechanisms` is the helper's `hello.mech` (helper/linux/WIRE.md §5.2): mechanism name → a sentence
 * such as "active", "unavailable: …" or, for the freezer, "cgroup2" / "sigstop".
 */
export interface WatchStatus {
  socket?: string;
  connected: boolean;
  helperPid?: number | null;
  roots?: string[];
  mechanisms?: Record<string, string> | null;
  lastHeartbeat?: number | null;
  /** From the helper's heartbeat: trees, permEvents, permAgent, nameEvents, shadowFiles. */
  counters?: Record<string, number>;
  canary?: { path: string | null; lastOk: number | null };
  ok?: boolean;
  fault?: WatchFault | null;
  recentFaults?: WatchFault[];
  runsInProgress?: number[];
}

export interface DaemonStatus {
  pid: number;
  state: string;
  runsInProgress: number[];
  helper: string | null;
  lastRun: RunRow | null;
  /** Status of the daemon's extension areas by name (net, messages, watch…); only `watch` is read here. */
  extensions?: { watch?: WatchStatus } & Record<string, unknown>;
}
