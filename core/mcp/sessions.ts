/**
 * The daemon side of the MCP gateway: one session per `warden mcp` process. A session knows its run, its name
 * and how to start its server again (command, args, environment, cwd), so a queued tool call can be performed
 * at release after the gateway and the agent are gone. Each `tools/call` is decided by the `mcp:` policy,
 * journaled as an `mcp_call` event, and a send is turned into an outbound message.
 */
import { randomBytes } from 'node:crypto';
import type { Journal } from '../journal/journal.js';
import type { McpCallResult, Message } from '../api/contract-messages.js';
import { WardenError } from '../util/errors.js';
import { journalEvent } from '../messages/events.js';
import { describeMcpCall, type McpServerSpec } from '../messages/payload.js';
import type { NewMessage } from '../messages/store.js';
import { decideMcpCall, type OutboundPolicy } from './policy.js';

interface Session {
  run: number;
  /** True when the daemon opened the run for this gateway (ended at close). */
  ownRun: boolean;
  pid: number | null;
  server: McpServerSpec;
}

export interface SessionDeps {
  journal: Journal;
  policy: () => OutboundPolicy;
  enqueue: (m: Omit<NewMessage, 'releaseAt'>) => Message;
  log: (line: string) => void;
}

/** Longest argument JSON kept in an `mcp_call` event (characters); the rest is cut with a marker. */
const ARGS_JOURNAL_MAX = 4000;

export class McpSessions {
  private sessions = new Map<string, Session>();

  constructor(private readonly d: SessionDeps) {}

  /**
   * Opens a session. `run`: the guarded run the gateway is in (from its outbox); without one the daemon opens
   * a run for the gateway so its calls are journaled somewhere a person can find them.
   */
  open(
    p: {
      name: string;
      command: string;
      args: string[];
      env: Record<string, string>;
      cwd: string;
      pid?: number;
    },
    run?: number,
  ): { session: string; run: number } {
    let ownRun = false;
    if (run === undefined) {
      run = this.d.journal.createRun({
        argv: ['warden', 'mcp', '--name', p.name, '--', p.command, ...p.args],
        cwd: p.cwd,
        workspace: p.cwd,
      });
      ownRun = true;
    }
    const session = randomBytes(16).toString('hex');
    this.sessions.set(session, {
      run,
      ownRun,
      pid: p.pid ?? null,
      server: { name: p.name, command: p.command, args: p.args, env: p.env, cwd: p.cwd },
    });
    return { session, run };
  }

  /** Decides one tools/call; journals it; queues it when it sends. @throws WardenError('mcp-no-session'). */
  call(session: string, tool: string, args: Record<string, unknown>): McpCallResult {
    const s = this.get(session);
    const d = decideMcpCall(this.d.policy(), s.server.name, tool, args);
    let argsJson = JSON.stringify(args);
    if (argsJson.length > ARGS_JOURNAL_MAX) argsJson = `${argsJson.slice(0, ARGS_JOURNAL_MAX)}…(cut)`;
    journalEvent(
      this.d.journal,
      {
        run: s.run,
        pid: s.pid,
        op: 'mcp_call',
        path: `mcp:${s.server.name}/${tool}`,
        decision: d.decision === 'queue' ? 'delay' : d.decision,
        rule: d.rule,
        band: 'mcp',
        errno: d.decision === 'deny' ? 1 : 0,
        argv: ['tools/call', tool, argsJson],
      },
      this.d.log,
    );
    if (d.decision !== 'queue') return d;
    const what = describeMcpCall(s.server.name, tool, args);
    const message = this.d.enqueue({
      channel: 'mcp',
      destination: what.destination,
      subject: what.subject,
      body: what.body,
      attachments: [],
      run: s.run,
      pid: s.pid,
      process: `warden mcp --name ${s.server.name} (${s.server.command})`,
      payload: { channel: 'mcp', server: s.server, tool, arguments: args, fields: what.fields },
    });
    return { ...d, message };
  }

  /** Journals how an allowed call ended (a failure shows on the Timeline). */
  result(session: string, tool: string, ok: boolean, error?: string): void {
    const s = this.get(session);
    if (ok) return;
    journalEvent(
      this.d.journal,
      {
        run: s.run,
        pid: s.pid,
        op: 'mcp_call',
        path: `mcp:${s.server.name}/${tool}`,
        decision: 'allow',
        rule: 'mcp-result',
        band: 'mcp',
        errno: 1,
        argv: ['result', tool, (error ?? 'error').slice(0, 2000)],
      },
      this.d.log,
    );
  }

  /** Closes a session (ending the run the daemon opened for it). Unknown sessions are ignored. */
  close(session: string): void {
    const s = this.sessions.get(session);
    if (!s) return;
    this.sessions.delete(session);
    if (s.ownRun) this.d.journal.endRun(s.run, { exitCode: 0 });
  }

  /** The run a session belongs to (for binding outbox sessions to their run). */
  runOf(session: string): number {
    return this.get(session).run;
  }

  /** Number of open sessions. */
  get size(): number {
    return this.sessions.size;
  }

  private get(session: string): Session {
    const s = this.sessions.get(session);
    if (!s)
      throw new WardenError(
        'mcp-no-session',
        'unknown MCP gateway session (the daemon restarted?): restart the agent',
        2,
      );
    return s;
  }
}
