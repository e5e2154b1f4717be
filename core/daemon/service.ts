/**
 * What the daemon does for each API method. It owns the journal (the only SQLite writer), the blob store and
 * the per-run files, and it ingests each run's event log when the helper wakes it.
 */
import { mkdirSync, writeFileSync, existsSync, statSync } from 'node:fs';
import { join } from 'node:path';
import type { Method } from '../api/contract.js';
import { methods } from '../api/contract.js';
import type { z } from 'zod';
import { WardenError, errorMessage } from '../util/errors.js';
import { helperBinary, type StateLayout } from '../util/paths.js';
import { Journal, type EventRow } from '../journal/journal.js';
import type { FsPath } from '../wire/events.js';
import { displayPath } from '../rollback/plan.js';
import { BlobStore } from '../blobs/store.js';
import { ingestRun, ingestAll } from '../journal/ingest.js';
import {
  loadPolicy,
  compileTable,
  ruleSummary,
  PolicyError,
  formatIssue,
  globEscape,
  type Policy,
} from '../policy/index.js';
import { planRollback } from '../rollback/plan.js';
import { applyRollback } from '../rollback/apply.js';
import { HoldManager } from '../holds/manager.js';
import { showRun, verifyJournal } from '../journal/verify.js';
import { undoRollback } from '../rollback/undo.js';
import type { DaemonExtension, RunSetup } from './extension.js';
import { extensionFactories } from './extensions.js';
import { PREIMAGE_MAX_BYTES, policyFiles } from './policy-files.js';

export { PREIMAGE_MAX_BYTES, policyFiles };

/**
 * An event row as the API sends it: paths that are not valid UTF-8 travel as `pathHex`/`path2Hex` (with
 * `path` holding a display form with \xHH escapes), everything else as in the journal.
 */
function apiEvent(e: EventRow) {
  const { path, path2, holdBy, ...rest } = e;
  const one = (name: string, p: FsPath | null) => {
    if (p === null || typeof p === 'string') return { [name]: p };
    return { [name]: displayPath(p), [`${name}Hex`]: p.toString('hex') };
  };
  // `by`: who decided a held event (person | policy | timeout | no-daemon), as the helper wrote it
  return { ...rest, by: holdBy ?? null, ...one('path', path), ...one('path2', path2) };
}

type P<M extends Method> = z.output<(typeof methods)[M]['params']>;

export class Service {
  readonly journal: Journal;
  readonly blobs: BlobStore;
  readonly holds: HoldManager;
  /** The policy each run was started with (for the `why` of a hold's rule). */
  private runPolicies = new Map<number, Policy>();
  private running = new Set<number>();
  private policyCache: { key: string; policy: Policy } | null = null;
  private ingestQueued = new Set<number>();
  /** Areas beyond the core (egress proxy, message queue, watch mode), attached by `attachExtensions`. */
  private extensions: DaemonExtension[] = [];

  constructor(
    readonly layout: StateLayout,
    readonly log: (line: string) => void,
  ) {
    this.journal = new Journal(layout.db);
    this.blobs = new BlobStore(layout.blobs, this.journal);
    this.holds = new HoldManager({
      ingest: (run) => this.ingest(run),
      chain: (run, pid) => this.journal.processChain(run, pid),
      why: (run, rule) => this.runPolicies.get(run)?.rules.find((r) => r.id === rule)?.why ?? null,
      userPolicyDir: layout.policies,
      log,
    });
  }

  /** At start: ingests whatever runs left in their event logs while no daemon was there (spooled events). */
  recover(): void {
    const n = ingestAll(this.journal, this.blobs, this.layout.dir);
    if (n > 0) this.log(`daemon: recovered ${n} event lines left by runs while the daemon was down`);
  }

  /** Attaches the extension areas (extensions.ts); an area that fails to start is logged and left out. */
  async attachExtensions(): Promise<void> {
    for (const make of extensionFactories) {
      try {
        this.extensions.push(await make(this));
      } catch (err) {
        this.log(`daemon: an extension failed to start: ${errorMessage(err)}`);
      }
    }
  }

  /** Closes the extension areas, last attached first. */
  async closeExtensions(): Promise<void> {
    for (const ext of [...this.extensions].reverse()) {
      try {
        await ext.close?.();
      } catch (err) {
        this.log(`daemon: closing ${ext.name} failed: ${errorMessage(err)}`);
      }
    }
    this.extensions = [];
  }

  /**
   * True while a run is in progress or an extension area has work pending (e.g. queued outbound messages
   * waiting for their release time): the idle timer must not stop the daemon then.
   */
  busy(): boolean {
    return this.running.size > 0 || this.extensions.some((e) => e.busy?.() ?? false);
  }

  /** A helper flushed new lines for `run`: ingest them soon (coalesced). */
  wake(run: number): void {
    if (this.ingestQueued.has(run)) return;
    this.ingestQueued.add(run);
    setImmediate(() => {
      this.ingestQueued.delete(run);
      try {
        this.ingest(run);
      } catch (err) {
        this.log(`daemon: ingest of run ${run} failed: ${errorMessage(err)}`);
      }
    });
  }

  close(): void {
    this.journal.close();
  }

  private ingest(run: number) {
    return ingestRun(this.journal, this.blobs, {
      runId: run,
      eventsPath: join(this.layout.runs, String(run), 'events.ndjson'),
      stageDir: join(this.layout.stage, String(run)),
    });
  }

  private runId(ref: number | 'last'): number {
    const run = this.journal.getRun(ref);
    if (!run)
      throw new WardenError(
        'no-such-run',
        ref === 'last' ? 'there are no runs yet' : `no run with id ${ref}`,
        2,
      );
    return run.id;
  }

  async dispatch<M extends Method>(method: M, params: P<M>): Promise<unknown> {
    switch (method) {
      case 'status':
        return this.status();
      case 'holds.list':
        return this.holds.list((params as P<'holds.list'>).run);
      case 'holds.decide': {
        const p = params as P<'holds.decide'>;
        return this.holds.decide(p.id, p.decision, p.scope);
      }
      case 'run.start':
        return this.startRun(params as P<'run.start'>);
      case 'run.finish':
        return this.finishRun(params as P<'run.finish'>);
      case 'runs.list':
        return this.journal.listRuns({ limit: (params as P<'runs.list'>).limit });
      case 'run.get': {
        const id = this.runId((params as P<'run.get'>).run);
        return { run: this.journal.getRun(id), summary: this.journal.runSummary(id) };
      }
      case 'run.log': {
        const p = params as P<'run.log'>;
        const id = this.runId(p.run);
        const events = this.journal
          .events(id, { afterSeq: p.afterSeq, limit: p.limit, op: p.op })
          .map(apiEvent);
        const pids = [...new Set(events.map((e) => e.pid))];
        const chains = Object.fromEntries(pids.map((pid) => [pid, this.journal.processChain(id, pid)]));
        return { run: this.journal.getRun(id), events, chains };
      }
      case 'rollback.plan': {
        const p = params as P<'rollback.plan'>;
        const id = this.runId(p.run);
        this.ingest(id);
        return planRollback(this.journal, id, { paths: this.rollbackScope(id, p) });
      }
      case 'rollback.apply': {
        const p = params as P<'rollback.apply'>;
        const id = this.runId(p.run);
        if (this.running.has(id))
          throw new WardenError('run-active', `run ${id} is still running; roll it back after it ends`, 2);
        this.ingest(id);
        const plan = planRollback(this.journal, id, { paths: this.rollbackScope(id, p) });
        return applyRollback(this.journal, this.blobs, plan, { stateDir: this.layout.dir, force: p.force });
      }
      case 'journal.verify':
        return verifyJournal(this.journal);
      case 'run.show':
        return showRun(this.journal, this.runId((params as P<'run.show'>).run));
      case 'rollback.undo':
        return undoRollback(this.journal, this.blobs, (params as P<'rollback.undo'>).rollback, {
          stateDir: this.layout.dir,
        });
      case 'policy.show': {
        const p = params as P<'policy.show'>;
        return ruleSummary(this.loadPolicies(p.policies));
      }
      default: {
        for (const ext of this.extensions) {
          const handler = ext.handlers?.[method] as ((p: unknown) => unknown) | undefined;
          if (handler) return handler(params);
        }
        throw new WardenError('unknown-method', `method ${method} is not served by this daemon`);
      }
    }
  }

  /**
   * Which paths a rollback touches: the given globs; else, unless `all`, the run's workspace only — the
   * agent's own state (session transcripts under ~/.claude, caches, temp files) is left as the run left it.
   */
  private rollbackScope(run: number, p: { paths: string[]; all: boolean }): string[] {
    if (p.paths.length > 0 || p.all) return p.paths;
    const ws = this.journal.getRun(run)?.workspace;
    if (!ws) return [];
    const g = globEscape(ws);
    return [g, `${g}/**`];
  }

  private status() {
    return {
      pid: process.pid,
      state: this.layout.dir,
      runsInProgress: [...this.running],
      helper: existsSync(helperBinary('warden-supervise')) ? helperBinary('warden-supervise') : null,
      lastRun: this.journal.getRun('last') ?? null,
      extensions: Object.fromEntries(this.extensions.map((e) => [e.name, e.status?.() ?? {}])),
    };
  }

  /**
   * Loads the policy files in effect, reusing the last result while no file changed (same paths, sizes
   * and mtimes): parsing and validating YAML is most of the cost of starting a run.
   */
  private loadPolicies(extra: string[]) {
    const files = policyFiles(this.layout, extra);
    const key = files
      .map((f) => {
        try {
          const st = statSync(f);
          return `${f}\0${st.size}\0${st.mtimeMs}`;
        } catch {
          return `${f}\0missing`;
        }
      })
      .join('\n');
    if (this.policyCache?.key === key) return this.policyCache.policy;
    const policy = this.parsePolicies(files);
    this.policyCache = { key, policy };
    return policy;
  }

  private parsePolicies(files: string[]) {
    try {
      return loadPolicy(files);
    } catch (err) {
      if (err instanceof PolicyError) {
        throw new WardenError('policy-invalid', err.issues.map(formatIssue).join('\n'), 2, err.issues);
      }
      throw err;
    }
  }

  private async startRun(p: P<'run.start'>) {
    const helper = helperBinary('warden-supervise');
    if (!existsSync(helper)) {
      throw new WardenError(
        'helper-missing',
        `the helper ${helper} is not built: run \`npm run build\` in the warden checkout`,
      );
    }
    const policy = this.loadPolicies(p.policies);
    const run = this.journal.createRun({ argv: p.argv, cwd: p.cwd, workspace: p.workspace });
    const runDir = join(this.layout.runs, String(run));
    const stageDir = join(this.layout.stage, String(run));
    mkdirSync(runDir, { recursive: true, mode: 0o700 });
    mkdirSync(stageDir, { recursive: true, mode: 0o700 });
    const events = join(runDir, 'events.ndjson');
    const table = compileTable(
      policy,
      { workspace: p.workspace, home: p.home, tmp: p.tmp, state: this.layout.dir },
      {
        run,
        state: this.layout.dir,
        socket: this.layout.socket,
        events,
        stage: stageDir,
        home: p.home,
        workspace: p.workspace,
        preimageMax: PREIMAGE_MAX_BYTES,
        landlock: p.landlock,
      },
    );
    const tablePath = join(runDir, 'table');
    writeFileSync(tablePath, table, { mode: 0o600 });
    this.running.add(run);
    this.runPolicies.set(run, policy);
    this.holds.push({ type: 'run.started', run });
    const setup: Required<RunSetup> = { env: {}, pathPrepend: [], forwards: [] };
    for (const ext of this.extensions) {
      const s = await ext.runStart?.({
        run,
        argv: p.argv,
        cwd: p.cwd,
        workspace: p.workspace,
        home: p.home,
        net: p.net,
        policies: p.policies,
      });
      Object.assign(setup.env, s?.env ?? {});
      setup.pathPrepend.push(...(s?.pathPrepend ?? []));
      setup.forwards.push(...(s?.forwards ?? []));
    }
    this.log(`daemon: run ${run} started: ${JSON.stringify(p.argv)} in ${p.workspace}`);
    return { run, table: tablePath, events, stage: stageDir, helper, ...setup };
  }

  private async finishRun(p: P<'run.finish'>) {
    for (const ext of this.extensions) {
      try {
        await ext.runEnd?.(p.run);
      } catch (err) {
        this.log(`daemon: ${ext.name} at the end of run ${p.run}: ${errorMessage(err)}`);
      }
    }
    this.ingest(p.run);
    this.journal.endRun(p.run, { exitCode: p.exitCode, signal: p.signal });
    this.running.delete(p.run);
    this.runPolicies.delete(p.run);
    this.holds.push({ type: 'run.ended', run: p.run });
    this.log(`daemon: run ${p.run} finished (exit ${p.exitCode ?? p.signal})`);
    return { run: this.journal.getRun(p.run), summary: this.journal.runSummary(p.run) };
  }
}
