/**
 * The daemon's hold queue: holds arrive from helpers (WIRE.md §3), are shown to people through the API and
 * pushed to subscribers, and are answered with `decide` lines on the helper's connection. The helper owns
 * each hold's deadline and fallback (so a hold is answered even if the daemon dies); this queue mirrors it.
 */
import { appendFileSync, existsSync, writeFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import type { Hold, Push } from '../api/contract.js';
import { WardenError } from '../util/errors.js';
import { helperMessageSchema, type DecideMessage, type HelperHold } from './messages.js';
import { commandPreview, deletePreview, modeString } from './preview.js';

/** What the queue needs from the rest of the daemon. */
export interface HoldContext {
  /** Ingests the run's event log so process lines are in the journal. */
  ingest(run: number): void;
  /** Process chain of `pid`, innermost first. */
  chain(run: number, pid: number): { pid: number; argv: string[] }[];
  /** The `why` of a rule in the policy the run was started with. */
  why(run: number, rule: string): string | null;
  /** Folder for user policy files (`state/policies`). */
  userPolicyDir: string;
  log(line: string): void;
}

const hex = (h: string | undefined) =>
  h === undefined ? undefined : Buffer.from(h, 'hex').toString('latin1');

export class HoldManager {
  private holds = new Map<string, Hold>();
  private helpers = new Map<number, (line: string) => void>();
  private subscribers = new Set<{ cb: (p: Push) => void; run?: number }>();

  constructor(private readonly ctx: HoldContext) {}

  /**
   * Daemon-side holds (issue 6: the egress proxy's `connect` holds, core/net): held by the daemon itself, not
   * by a helper, so a person's answer goes to `answer` instead of a `decide` line. The owner keeps the deadline
   * and calls `resolveLocal` when it passes (or its run ends). Hold numbers must not collide with the helper's.
   */
  private local = new Map<string, (decision: 'allow' | 'deny', scope: string) => void>();

  /** Adds a daemon-side hold (see `local`) and pushes `hold.new`. */
  addLocal(hold: Hold, answer: (decision: 'allow' | 'deny', scope: string) => void): void {
    this.holds.set(hold.id, hold);
    this.local.set(hold.id, answer);
    this.ctx.log(`daemon: hold ${hold.id}: ${hold.decision} ${hold.op} ${hold.path} [${hold.rule}]`);
    this.push({ type: 'hold.new', hold });
  }

  /** Ends a daemon-side hold without a person (timeout, run gone); false when it was already answered. */
  resolveLocal(id: string, decision: 'allow' | 'deny', by: 'timeout' | 'gone' | 'policy'): boolean {
    if (!this.local.delete(id) || !this.holds.delete(id)) return false;
    this.push({ type: 'hold.resolved', id, decision, by });
    return true;
  }

  /** A helper connected for `run`; `send` writes one line to it. */
  attach(run: number, send: (line: string) => void): void {
    this.helpers.set(run, send);
  }

  /** The helper of `run` disconnected: its holds are answered by the helper's own fallbacks, or gone. */
  detach(run: number): void {
    this.helpers.delete(run);
    for (const [id, h] of this.holds) {
      if (h.run !== run) continue;
      this.holds.delete(id);
      this.push({ type: 'hold.resolved', id, decision: h.fallback, by: 'gone' });
    }
  }

  /** Registers a push subscriber (optionally for one run); returns the unsubscribe function. */
  subscribe(cb: (p: Push) => void, filter: { run?: number } = {}): () => void {
    const s = { cb, run: filter.run };
    this.subscribers.add(s);
    return () => this.subscribers.delete(s);
  }

  /** Pushes a message to every matching subscriber. */
  push(p: Push): void {
    const run =
      p.type === 'hold.new' ? p.hold.run : p.type === 'hold.resolved' ? Number(p.id.split('-')[0]) : p.run;
    for (const s of this.subscribers) if (s.run === undefined || s.run === run) s.cb(p);
  }

  /** Pending holds, oldest first. */
  list(run?: number): Hold[] {
    return [...this.holds.values()]
      .filter((h) => run === undefined || h.run === run)
      .sort((a, b) => a.ts - b.ts);
  }

  /** Number of UI-like subscribers (all-runs subscriptions). */
  watchers(): number {
    return [...this.subscribers].filter((s) => s.run === undefined).length;
  }

  /**
   * Handles one non-empty line from the helper of `run`.
   * @throws Error when the line does not parse (the caller logs it as a fault).
   */
  onHelperLine(run: number, line: string): void {
    const msg = helperMessageSchema.parse(JSON.parse(line));
    if (msg.t === 'resolved') {
      const id = `${run}-${msg.hold}`;
      if (this.holds.delete(id)) this.push({ type: 'hold.resolved', id, decision: msg.decision, by: msg.by });
      return;
    }
    const hold = this.build(run, msg);
    this.holds.set(hold.id, hold);
    this.ctx.log(
      `daemon: hold ${hold.id}: ${hold.decision} ${hold.op} ${hold.path ?? hold.argv.join(' ')} [${hold.rule}]`,
    );
    this.push({ type: 'hold.new', hold });
  }

  private build(run: number, m: HelperHold): Hold {
    this.ctx.ingest(run);
    const path = m.path ?? hex(m.path_hex) ?? null;
    const path2 = m.path2 ?? hex(m.path2_hex) ?? null;
    const chain = this.ctx.chain(run, m.pid);
    const argv = m.argv ?? chain[0]?.argv ?? [];
    let preview: Hold['preview'] = null;
    if (m.op === 'delete' && (m.burst?.root ?? path)) preview = deletePreview(m.burst?.root ?? path!);
    else if (m.op === 'exec') preview = commandPreview(argv, m.cwd ?? null);
    else if (m.op === 'chmod' && m.flags !== undefined)
      preview = { kind: 'mode', before: '?', after: modeString(m.flags) };
    const isPush = m.op === 'exec' && argv.some((a) => a === 'push') && /(^|\/)git$/.test(argv[0] ?? '');
    return {
      id: `${run}-${m.hold}`,
      run,
      hold: m.hold,
      seq: m.seq ?? 0,
      ts: m.ts,
      deadline: m.deadline_ms,
      fallback: m.fallback,
      decision: m.decision,
      reason: m.reason,
      rule: m.rule,
      band: m.band ?? '',
      why: this.ctx.why(run, m.rule),
      op: m.op,
      sys: m.sys ?? null,
      path,
      path2,
      pid: m.pid,
      cwd: m.cwd ?? null,
      argv,
      chain,
      burst: m.burst ?? null,
      preview,
      irreversible: isPush ? 'a push changes a remote; a rollback cannot undo it' : null,
    };
  }

  /**
   * Answers hold `id`. Scope: `once` (this event), `burst` (the rest of that process's burst), `run` (every
   * later event of the same rule in this run), `always` (like `run`, and writes a user rule for later runs).
   * Approving a bulk-delete hold approves its burst; denying or cancelling a delete denies the whole burst,
   * so one Deny stops a whole `rm -rf`.
   * @returns the rule written for `always`, if any.
   * @throws WardenError('no-such-hold') when the hold is unknown or already answered.
   */
  decide(
    id: string,
    decision: 'allow' | 'deny',
    scope: 'once' | 'burst' | 'run' | 'always',
  ): { rule: string | null } {
    const h = this.holds.get(id);
    if (!h)
      throw new WardenError(
        'no-such-hold',
        `no pending hold ${id} (it may have been answered or timed out)`,
        2,
      );
    const answer = this.local.get(id);
    if (answer) {
      this.local.delete(id);
      this.holds.delete(id);
      this.push({ type: 'hold.resolved', id, decision, by: 'person' });
      answer(decision, scope);
      return { rule: null };
    }
    const send = this.helpers.get(h.run);
    if (!send) throw new WardenError('run-gone', `the run of hold ${id} has no supervisor any more`, 1);
    let wire: DecideMessage['scope'] = scope === 'always' ? 'run' : scope;
    if (scope === 'once' && h.op === 'delete' && (decision === 'deny' || h.reason === 'bulk')) wire = 'burst';
    let rule: string | null = null;
    if (scope === 'always' && decision === 'allow') rule = this.writeAlwaysRule(h);
    const msg: DecideMessage = { t: 'decide', hold: h.hold, decision, scope: wire, by: 'person' };
    send(JSON.stringify(msg));
    return { rule };
  }

  /** Appends an allow rule for what `h` asked about to the user's policy band `05-always.yaml`. */
  private writeAlwaysRule(h: Hold): string {
    const file = join(this.ctx.userPolicyDir, '05-always.yaml');
    if (!existsSync(file)) {
      writeFileSync(file, '# Rules written by "Always allow" answers. Edit or delete freely.\nrules:\n', {
        mode: 0o600,
      });
    }
    const id = `always-${h.run}-${h.hold}`;
    const q = (s: string) => JSON.stringify(s);
    const match =
      h.op === 'exec'
        ? `      op: [exec]\n      command: { argv: [${h.argv.map((a, i) => q(i === 0 ? a.split('/').pop()! : a.replace(/[*?[\]{}\\]/g, '\\$&'))).join(', ')}] }\n`
        : `      op: [${h.op}]\n      path: [${q((h.burst?.root ?? (h.op === 'delete' ? dirname(h.path ?? '/') : (h.path ?? '/'))).replace(/[*?[\]{}\\]/g, '\\$&') + (h.op === 'delete' ? '/**' : ''))}]\n`;
    const text = `  - id: ${id}\n    why: Allowed always by a person answering hold ${h.id} (${new Date().toISOString()}).\n    match:\n${match}    decision: allow\n`;
    appendFileSync(file, text);
    this.ctx.log(`daemon: wrote rule ${id} to ${file}`);
    return text;
  }
}
