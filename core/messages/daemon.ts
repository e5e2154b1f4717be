/**
 * The daemon side of the outbound-message queue and the MCP gateway (issue 6): opens `<state>/messages.db`,
 * releases due messages on a timer (and resolves what a crash left in `sending` at start), serves the
 * `messages.*` and `mcp.*` API methods, and gives every guarded run
 *   - a per-run SMTP listener (127.0.0.1 ephemeral port for `--net host`; a unix socket forwarded to port 2525
 *     of the run's loopback for isolated runs) announced as `WARDEN_SMTP=127.0.0.1:PORT`,
 *   - the `sendmail` shim first on PATH (core/messages/shim/sendmail),
 *   - an outbox socket for `warden mcp` gateways inside the run (`WARDEN_OUTBOX`, `WARDEN_OUTBOX_TOKEN`,
 *     `WARDEN_RUN`), since the run cannot reach the control socket.
 * State changes are journaled as `message` events of the message's run. They are not pushed yet: the push
 * schema's consumers (electron/tray.ts) treat an unknown push type as `run.ended`, so a new type needs them first.
 */
import { mkdtempSync, rmSync, statSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { randomBytes, timingSafeEqual } from 'node:crypto';
import type { Server } from 'node:net';
import type { DaemonExtensionFactory, RunContext, RunSetup } from '../daemon/extension.js';
import type { Service } from '../daemon/service.js';
import { policyFiles } from '../daemon/service.js';
import type { Message } from '../api/contract-messages.js';
import { messageMethods, MESSAGE_STATES } from '../api/contract-messages.js';
import type { z } from 'zod';
import { packageRoot } from '../util/paths.js';
import { WardenError, errorMessage } from '../util/errors.js';
import { MessageStore, type NewMessage } from './store.js';
import { MessageQueue, type MessageChange } from './queue.js';
import { startSmtpListener, type SmtpListener } from './smtp.js';
import { startOutbox } from './outbox.js';
import { journalEvent } from './events.js';
import { McpSessions } from '../mcp/sessions.js';
import { loadOutboundPolicy, type OutboundPolicy } from '../mcp/policy.js';

type P<M extends keyof typeof messageMethods> = z.output<(typeof messageMethods)[M]['params']>;

/** Directory holding the `sendmail` shim put first on guarded runs' PATH. */
export const shimDir = join(packageRoot, 'core', 'messages', 'shim');

/** Port on an isolated run's loopback where its SMTP listener appears (forwarded to a unix socket). */
export const ISOLATED_SMTP_PORT = 2525;

interface RunOutbound {
  dir: string;
  token: string;
  smtp: SmtpListener;
  outbox: Server;
  sessions: Set<string>;
}

/** Options a test or the daemon may set: the release delay overrides the policy's `messages.release_after`. */
export interface MessagesOptions {
  releaseAfterMs?: number;
}

/** Builds the extension; `opts.releaseAfterMs` also comes from `$WARDEN_MESSAGE_RELEASE_MS` (daemon option). */
export function makeMessagesExtension(opts: MessagesOptions = {}): DaemonExtensionFactory {
  return async (service: Service) => {
    const log = service.log;
    const store = new MessageStore(join(service.layout.dir, 'messages.db'));
    const envDelay = Number(process.env.WARDEN_MESSAGE_RELEASE_MS);
    const fixedDelay =
      opts.releaseAfterMs ?? (Number.isFinite(envDelay) && envDelay >= 0 ? envDelay : undefined);
    // Reloaded only when a policy file was added, removed or changed (path, size, mtime).
    let cached: { key: string; policy: OutboundPolicy } | null = null;
    const policy = (): OutboundPolicy => {
      const files = policyFiles(service.layout, []);
      const key = files
        .map((f) => {
          const st = statSync(f, { throwIfNoEntry: false });
          return `${f}:${st?.size}:${st?.mtimeMs}`;
        })
        .join('|');
      if (cached?.key !== key) cached = { key, policy: loadOutboundPolicy(files, log) };
      return cached.policy;
    };

    const changed = (m: Message, what: MessageChange) => {
      if (m.run !== null && what !== 'sending')
        journalEvent(
          service.journal,
          {
            run: m.run,
            pid: m.pid,
            op: 'message',
            path: `${m.channel}:${m.destination}`,
            decision:
              what === 'sent' ? 'allow' : what === 'cancelled' || what === 'failed' ? 'deny' : 'delay',
            rule: 'outbound-queue',
            band: 'messages',
            errno: what === 'failed' ? 1 : 0,
            argv: [
              what,
              `message ${m.id}`,
              m.subject.slice(0, 200),
              ...(m.error ? [m.error.slice(0, 500)] : []),
            ],
          },
          log,
        );
    };
    const queue = new MessageQueue({ store, stateDir: service.layout.dir, log, changed });
    const enqueue = (n: Omit<NewMessage, 'releaseAt'>) => {
      // The delay first: reading the policy may take a while, and the clock starts when the message is queued.
      const delay = fixedDelay ?? policy().releaseAfterMs;
      return queue.enqueue({ ...n, releaseAt: Date.now() + delay });
    };
    const sessions = new McpSessions({ journal: service.journal, policy, enqueue, log });
    const runs = new Map<number, RunOutbound>();
    void queue.start().catch((err) => log(`messages: recovery failed: ${errorMessage(err)}`));

    /** mcp.* through a run's outbox: the token binds the session to that run. */
    const outboxHandler = (run: number, ro: RunOutbound) => async (method: string, params: unknown) => {
      switch (method) {
        case 'mcp.open': {
          const p = params as P<'mcp.open'>;
          const a = Buffer.from(p.token ?? '');
          const b = Buffer.from(ro.token);
          if (a.length !== b.length || !timingSafeEqual(a, b))
            throw new WardenError('outbox-token', 'wrong or missing WARDEN_OUTBOX_TOKEN for this run', 2);
          const r = sessions.open(p, run);
          ro.sessions.add(r.session);
          return r;
        }
        default: {
          const p = params as { session: string };
          if (!ro.sessions.has(p.session))
            throw new WardenError('mcp-no-session', 'unknown MCP gateway session for this run', 2);
          return mcpHandlers[method as 'mcp.call' | 'mcp.result' | 'mcp.close'](params as never);
        }
      }
    };

    const mcpHandlers = {
      'mcp.call': (p: P<'mcp.call'>) => sessions.call(p.session, p.tool, p.arguments),
      'mcp.result': (p: P<'mcp.result'>) => {
        sessions.result(p.session, p.tool, p.ok, p.error);
        return {};
      },
      'mcp.close': (p: P<'mcp.close'>) => {
        sessions.close(p.session);
        return {};
      },
    };

    /** Starts a run's SMTP listener and outbox (see the module comment). */
    const setupRun = async (ctx: RunContext): Promise<RunSetup> => {
      const dir = mkdtempSync(join(tmpdir(), `warden-run${ctx.run}-`));
      const token = randomBytes(24).toString('hex');
      const isolated = ctx.net === 'isolated';
      const smtpSocket = join(dir, 'smtp.sock');
      const smtp = await startSmtpListener(
        ctx.run,
        isolated ? { socket: smtpSocket } : { port: 0 },
        enqueue,
        log,
      );
      const ro: RunOutbound = { dir, token, smtp, outbox: null as unknown as Server, sessions: new Set() };
      ro.outbox = await startOutbox(join(dir, 'outbox.sock'), outboxHandler(ctx.run, ro));
      runs.set(ctx.run, ro);
      const port = isolated ? ISOLATED_SMTP_PORT : (smtp.port as number);
      return {
        env: {
          WARDEN_SMTP: `127.0.0.1:${port}`,
          WARDEN_OUTBOX: join(dir, 'outbox.sock'),
          WARDEN_OUTBOX_TOKEN: token,
          WARDEN_RUN: String(ctx.run),
        },
        pathPrepend: [shimDir],
        forwards: isolated ? [{ port: ISOLATED_SMTP_PORT, socket: smtpSocket }] : [],
      };
    };

    return {
      name: 'messages',
      handlers: {
        'messages.list': (p: P<'messages.list'>) => store.list(p),
        'messages.get': (p: P<'messages.get'>) => store.get(p.id),
        'messages.edit': (p: P<'messages.edit'>) => queue.edit(p.id, p),
        'messages.send': (p: P<'messages.send'>) => queue.sendNow(p.id),
        'messages.cancel': (p: P<'messages.cancel'>) => queue.cancel(p.id),
        'mcp.open': (p: P<'mcp.open'>) => sessions.open(p),
        ...mcpHandlers,
      },

      async runStart(ctx: RunContext): Promise<RunSetup> {
        try {
          return await setupRun(ctx);
        } catch (err) {
          // The run goes ahead without a mail listener: the sendmail shim (still first on PATH) then fails
          // with "WARDEN_SMTP is not set" instead of mail going out unreviewed.
          log(`messages: run ${ctx.run} has no SMTP listener / outbox: ${errorMessage(err)}`);
          return { pathPrepend: [shimDir] };
        }
      },

      async runEnd(run: number) {
        const ro = runs.get(run);
        if (!ro) return;
        runs.delete(run);
        for (const s of ro.sessions) sessions.close(s);
        await ro.smtp.close();
        await new Promise<void>((resolve) => ro.outbox.close(() => resolve()));
        rmSync(ro.dir, { recursive: true, force: true });
      },

      busy() {
        // queued / edited messages wait for their release time; the daemon must be there to send them
        return store.nextRelease() !== null || queue.busyIds().length > 0;
      },

      status() {
        const counts = Object.fromEntries(
          MESSAGE_STATES.map((s) => [s, store.list({ state: s, limit: 10000 }).length]),
        );
        return {
          db: store.path,
          counts,
          nextRelease: store.nextRelease(),
          sending: queue.busyIds(),
          mcpSessions: sessions.size,
        };
      },

      async close() {
        for (const run of [...runs.keys()]) {
          const ro = runs.get(run) as RunOutbound;
          await ro.smtp.close().catch(() => {});
          ro.outbox.close();
          rmSync(ro.dir, { recursive: true, force: true });
        }
        runs.clear();
        await queue.close();
        store.close();
      },
    };
  };
}

export const messagesExtension: DaemonExtensionFactory = makeMessagesExtension();
