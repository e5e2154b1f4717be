/**
 * The main process's IPC boundary with the renderer (DESIGN.md safety property 3: "Electron IPC validates
 * the sender frame; every message crossing a boundary is parsed with zod").
 *
 * Channels (the preload uses exactly these):
 * - `warden:call` — invoke with `{method, params}`; answered with an {@link IpcAnswer}. The method must be one
 *   of the contract's `methods` minus {@link REFUSED_METHODS}; params must pass that method's schema and are
 *   forwarded as parsed (defaults applied, unknown keys rejected by the `.strict()` schemas).
 * - `warden:status` — invoke with no payload; answered with the current connection status.
 * - `warden:push` / `warden:status-changed` — main → renderer only.
 *
 * Every request first passes the sender check: it must come from the main frame of one of our own windows,
 * showing our renderer file (`file://…/dist/renderer/index.html`, any hash or query).
 */
import { z } from 'zod';
import { methods, type Method } from '../core/api/contract.js';
import type { IpcSender } from './platform.js';
import type { ConnectionStatus } from './tray.js';

export const CHANNEL = {
  call: 'warden:call',
  status: 'warden:status',
  push: 'warden:push',
  statusChanged: 'warden:status-changed',
} as const;

/**
 * Methods the renderer may never call: `shutdown` would stop the daemon for every client, `run.start` /
 * `run.finish` belong to `warden run` (a page must not start or end supervised runs), and
 * `events.subscribe` would subscribe the main process's own connection (pushes reach the page via
 * `onPush` instead).
 */
export const REFUSED_METHODS: ReadonlySet<string> = new Set([
  'shutdown',
  'run.start',
  'run.finish',
  'events.subscribe',
]);

/** What the renderer sends on `warden:call`. */
export const callRequestSchema = z
  .object({ method: z.string().min(1).max(64), params: z.unknown() })
  .strict();

/** The answer envelope on `warden:call`: errors are values, so Electron does not wrap them in its own text. */
export type IpcAnswer =
  { ok: true; result: unknown } | { ok: false; error: { code: string; message: string; details?: unknown } };

export interface IpcDeps {
  /** True when `webContentsId` belongs to a window this process created and still has open. */
  isOurWindow(webContentsId: number): boolean;
  /** `file://` URL of `dist/renderer/index.html` (from `pathToFileURL`). */
  rendererUrl: string;
  /** Sends a validated request to the daemon; rejects with an Error carrying `code` on a daemon error. */
  forward(method: Method, params: unknown): Promise<unknown>;
  status(): ConnectionStatus;
  /** Where rejected messages are reported (never the params: they may hold paths the user cares about). */
  log(line: string): void;
}

/**
 * Null when `sender` may talk to us, else why not. Pure; exported for tests.
 */
export function senderProblem(
  sender: IpcSender,
  deps: Pick<IpcDeps, 'isOurWindow' | 'rendererUrl'>,
): string | null {
  if (!deps.isOurWindow(sender.webContentsId))
    return `webContents ${sender.webContentsId} is not a Warden window`;
  if (!sender.frame) return 'the sending frame is gone';
  if (!sender.frame.isMainFrame) return 'message from a sub-frame';
  let got: URL;
  try {
    got = new URL(sender.frame.url);
  } catch {
    return `sender URL ${JSON.stringify(sender.frame.url)} does not parse`;
  }
  const want = new URL(deps.rendererUrl);
  if (got.protocol !== 'file:' || got.host !== want.host || got.pathname !== want.pathname) {
    return `sender URL ${got.protocol}//${got.host}${got.pathname} is not the Warden renderer`;
  }
  return null;
}

function refuse(code: string, message: string): IpcAnswer {
  return { ok: false, error: { code, message } };
}

/** Builds the two `invoke` handlers. Each resolves (never rejects) with an answer for the page. */
export function ipcHandlers(deps: IpcDeps) {
  const rejected = (code: string, message: string): IpcAnswer => {
    deps.log(`ipc: refused (${code}): ${message}`);
    return refuse(code, message);
  };
  return {
    async call(sender: IpcSender, payload: unknown): Promise<IpcAnswer> {
      const who = senderProblem(sender, deps);
      if (who) return rejected('ipc-forbidden', who);
      const req = callRequestSchema.safeParse(payload);
      if (!req.success) {
        return rejected(
          'bad-request',
          `warden:call wants {method, params}: ${req.error.issues[0]?.message ?? ''}`,
        );
      }
      const { method } = req.data;
      if (!Object.hasOwn(methods, method))
        return rejected('unknown-method', `unknown method ${JSON.stringify(method)}`);
      if (REFUSED_METHODS.has(method)) {
        return rejected('refused-method', `${method} cannot be called from the desktop app`);
      }
      const params = methods[method as Method].params.safeParse(req.data.params ?? {});
      if (!params.success) {
        const why = params.error.issues
          .map((i) => `${i.path.join('.') || 'params'}: ${i.message}`)
          .join('; ');
        return rejected('bad-params', `${method}: ${why}`);
      }
      try {
        return { ok: true, result: await deps.forward(method as Method, params.data) };
      } catch (err) {
        const e = err as { code?: unknown; message?: unknown; details?: unknown };
        return {
          ok: false,
          error: {
            code: typeof e.code === 'string' ? e.code : 'daemon-error',
            message: typeof e.message === 'string' ? e.message : String(err),
            ...(e.details === undefined ? {} : { details: e.details }),
          },
        };
      }
    },
    async status(sender: IpcSender, payload: unknown): Promise<IpcAnswer> {
      const who = senderProblem(sender, deps);
      if (who) return rejected('ipc-forbidden', who);
      if (payload !== undefined && payload !== null)
        return rejected('bad-request', 'warden:status takes no payload');
      return { ok: true, result: deps.status() };
    },
  };
}
