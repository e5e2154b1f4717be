/**
 * The local HTTP + WebSocket API for the desktop app, served on a unix socket (0600 in the 0700 state dir,
 * no token) and on 127.0.0.1 (bearer token created at daemon start, Host/Origin checked). Requests are
 * `POST /api/<method>` with the contract's params; pushes stream on the WebSocket `/api/events`. On TCP, GET
 * and HEAD outside `/api/` serve the desktop UI's static files (`dist/renderer`, http-static.ts).
 * Transport only: every request is parsed with the contract before `dispatch` sees it.
 */
import { createServer, type IncomingMessage, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import type { Duplex } from 'node:stream';
import { chmodSync, lstatSync, statSync, unlinkSync } from 'node:fs';
import { dirname } from 'node:path';
import { EventsEndpoint, rejectUpgrade, type Subscribe } from './http-events.js';
import { TOKEN_RE, type Transport } from './http-guard.js';
import { handleRequest, type RequestContext } from './http-request.js';
import { DEFAULT_STATIC_ROOT } from './http-static.js';
import { UiCodes } from './http-ui-code.js';

export { newApiToken } from './http-guard.js';
export type { Subscribe } from './http-events.js';

/** Default cap on a request body: 1 MiB. */
export const DEFAULT_MAX_BODY_BYTES = 1 << 20;

/** What `startHttpApi` needs from the daemon. */
export interface HttpApiOptions {
  /** Runs a contract method with params already parsed by its schema; a `WardenError` becomes a 4xx. */
  dispatch(method: string, params: unknown): Promise<unknown>;
  /** Subscribes to pushes (optionally of one run); returns the unsubscribe function. */
  subscribe: Subscribe;
  /** Unix socket to serve without a token; its directory must be private (0700). */
  socketPath: string;
  host: '127.0.0.1';
  /** TCP port; 0 or absent picks a free one (read it from the result). */
  port?: number;
  /** Bearer token for TCP clients: 32–256 characters of [A-Za-z0-9_-] (see `newApiToken`). */
  token: string;
  /** The UI's files, served on TCP at `/` (default `dist/renderer` of the package; null: not served). */
  staticRoot?: string | null;
  /** Largest accepted request body (default 1 MiB). */
  maxBodyBytes?: number;
  /** WebSocket keep-alive ping period (default 30 s). */
  pingIntervalMs?: number;
  log(line: string): void;
}

/** A running API: its TCP port and how to stop it. */
export interface HttpApi {
  port: number;
  /** Closes WebSockets (1001), both listeners and their connections, and removes the socket file. */
  close(): Promise<void>;
}

function listen(server: Server, target: { host: string; port: number } | string): Promise<void> {
  return new Promise((resolve, reject) => {
    server.once('error', reject);
    const done = () => {
      server.off('error', reject);
      resolve();
    };
    if (typeof target === 'string') server.listen(target, done);
    else server.listen(target.port, target.host, done);
  });
}

function closeServer(server: Server): Promise<void> {
  return new Promise((resolve) => {
    if (!server.listening) return resolve();
    server.close(() => resolve());
    server.closeAllConnections();
  });
}

/** Refuses a socket dir others can enter, and removes a stale socket (never any other kind of file). */
function prepareSocketPath(path: string): void {
  const dir = statSync(dirname(path));
  if ((dir.mode & 0o077) !== 0 || (process.getuid && dir.uid !== process.getuid())) {
    throw new Error(`${dirname(path)} must be a 0700 directory owned by this user to hold the API socket`);
  }
  let st;
  try {
    st = lstatSync(path);
  } catch {
    return;
  }
  if (!st.isSocket()) throw new Error(`${path} exists and is not a socket; refusing to replace it`);
  unlinkSync(path);
}

/**
 * Starts the local HTTP + WebSocket API on `opts.socketPath` and `opts.host:opts.port`.
 * Resolves once both listen. Rejects (and listens on nothing) when a listener cannot start, the token is
 * malformed or the socket dir is not private.
 */
export async function startHttpApi(opts: HttpApiOptions): Promise<HttpApi> {
  if (!TOKEN_RE.test(opts.token)) throw new Error('API token must be 32-256 characters of [A-Za-z0-9_-]');
  if (opts.host !== '127.0.0.1') throw new Error('the HTTP API listens on 127.0.0.1 only');
  prepareSocketPath(opts.socketPath);
  let port = 0;
  const events = new EventsEndpoint({
    subscribe: opts.subscribe,
    token: opts.token,
    pingIntervalMs: opts.pingIntervalMs ?? 30_000,
    maxBufferedBytes: 8 << 20,
    log: opts.log,
  });

  const uiCodes = new UiCodes(); // shared: issued on the unix socket, redeemed on TCP
  const make = (transport: Transport): Server => {
    const ctx: RequestContext = {
      transport,
      port: () => port,
      token: opts.token,
      maxBodyBytes: opts.maxBodyBytes ?? DEFAULT_MAX_BODY_BYTES,
      dispatch: opts.dispatch,
      log: opts.log,
      staticRoot: opts.staticRoot === undefined ? DEFAULT_STATIC_ROOT : opts.staticRoot,
      uiCodes,
    };
    const server = createServer({ requestTimeout: 30_000, headersTimeout: 10_000 }, (req, res) =>
      handleRequest(ctx, req, res),
    );
    server.keepAliveTimeout = 5_000;
    server.on('upgrade', (req: IncomingMessage, socket: Duplex, head: Buffer) =>
      events.upgrade(transport, port, req, socket, head),
    );
    server.on('connect', (_req: IncomingMessage, socket: Duplex) => {
      socket.on('error', () => socket.destroy());
      rejectUpgrade(socket, { status: 405, code: 'bad-verb', message: 'CONNECT is not served' });
    });
    return server;
  };

  const tcp = make('tcp');
  const unix = make('unix');
  try {
    await listen(tcp, { host: opts.host, port: opts.port ?? 0 });
    port = (tcp.address() as AddressInfo).port;
    const oldUmask = process.umask(0o177); // the socket file is created 0600
    try {
      await listen(unix, opts.socketPath);
    } finally {
      process.umask(oldUmask);
    }
    chmodSync(opts.socketPath, 0o600);
  } catch (err) {
    await Promise.all([closeServer(tcp), closeServer(unix)]);
    throw err;
  }
  for (const server of [tcp, unix])
    server.on('error', (err) => opts.log(`http: server error: ${err.message}`));
  opts.log(`http: API on 127.0.0.1:${port} and ${opts.socketPath}`);

  let closing: Promise<void> | null = null;
  return {
    port,
    close() {
      closing ??= (async () => {
        await events.close();
        await Promise.all([closeServer(tcp), closeServer(unix)]);
        try {
          unlinkSync(opts.socketPath);
        } catch {
          // already gone
        }
      })();
      return closing;
    },
  };
}
