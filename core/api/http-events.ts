/**
 * The WebSocket endpoint `/api/events`: after the upgrade every push from the daemon (validated with the
 * contract's `pushSchema`) is sent as one JSON text message. Clients only listen: anything but pings and
 * pongs from them closes the connection with 1008. A ping every interval detects dead peers.
 */
import { STATUS_CODES, type IncomingMessage } from 'node:http';
import type { Duplex } from 'node:stream';
import { WebSocket, WebSocketServer } from 'ws';
import { pushSchema, type Push } from './contract.js';
import {
  PROTOCOL_PREFIX,
  checkSite,
  checkToken,
  pathOf,
  queryOf,
  upgradeTokenOf,
  type Refusal,
  type Transport,
} from './http-guard.js';
import { EVENTS_PATH } from './http-request.js';

/** Subscribes to pushes (optionally of one run); returns the unsubscribe function. */
export type Subscribe = (onPush: (p: Push) => void, filter?: { run?: number }) => () => void;

/** Settings of the events endpoint. */
export interface EventsOptions {
  subscribe: Subscribe;
  token: string;
  /** Keep-alive ping period; a peer that has not answered the previous ping by then is dropped. */
  pingIntervalMs: number;
  /** A client further behind than this many unsent bytes is closed (1013) instead of buffered for. */
  maxBufferedBytes: number;
  log(line: string): void;
}

/** Writes an HTTP error answer on a raw socket (upgrade or CONNECT request), then closes it. */
export function rejectUpgrade(socket: Duplex, r: Refusal): void {
  const body = JSON.stringify({ ok: false, error: { code: r.code, message: r.message } });
  const head = [
    `HTTP/1.1 ${r.status} ${STATUS_CODES[r.status] ?? 'Error'}`,
    'Connection: close',
    'Content-Type: application/json; charset=utf-8',
    `Content-Length: ${Buffer.byteLength(body)}`,
    ...Object.entries(r.headers ?? {}).map(([k, v]) => `${k}: ${v}`),
  ];
  socket.once('finish', () => socket.destroy());
  socket.end(`${head.join('\r\n')}\r\n\r\n${body}`);
}

/** Picks the sub-protocol to answer: plain `warden` when offered, else the client's `warden.<token>`. */
function pickProtocol(protocols: Set<string>): string | false {
  if (protocols.has('warden')) return 'warden';
  for (const p of protocols) if (p.startsWith(PROTOCOL_PREFIX)) return p;
  return false;
}

/** The WebSocket side of the local API, shared by the TCP and unix-socket listeners. */
export class EventsEndpoint {
  private readonly wss = new WebSocketServer({
    noServer: true,
    maxPayload: 4096,
    perMessageDeflate: false,
    handleProtocols: pickProtocol,
  });

  constructor(private readonly opts: EventsOptions) {}

  /**
   * Handles an HTTP `upgrade` event: checks path, Host/Origin and token (TCP only), and the `run` filter,
   * then completes the WebSocket handshake or answers the HTTP error.
   */
  upgrade(transport: Transport, port: number, req: IncomingMessage, socket: Duplex, head: Buffer): void {
    socket.on('error', () => socket.destroy());
    if (pathOf(req.url) !== EVENTS_PATH) {
      return rejectUpgrade(socket, { status: 404, code: 'not-found', message: 'no such endpoint' });
    }
    if (transport === 'tcp') {
      const refusal = checkSite(req, port) ?? checkToken(upgradeTokenOf(req), this.opts.token);
      if (refusal) return rejectUpgrade(socket, refusal);
    }
    const runText = queryOf(req.url).get('run');
    const run = runText === null ? undefined : Number(runText);
    if (run !== undefined && !(/^[1-9]\d{0,14}$/.test(runText ?? '') && Number.isSafeInteger(run))) {
      return rejectUpgrade(socket, {
        status: 400,
        code: 'bad-params',
        message: 'run must be a positive integer',
      });
    }
    if (req.method !== 'GET') {
      return rejectUpgrade(socket, {
        status: 405,
        code: 'bad-verb',
        message: 'use GET',
        headers: { Allow: 'GET' },
      });
    }
    this.wss.handleUpgrade(req, socket, head, (ws) => this.attach(ws, run));
  }

  private attach(ws: WebSocket, run: number | undefined): void {
    const { log, maxBufferedBytes } = this.opts;
    const send = (p: Push) => {
      const push = pushSchema.safeParse(p);
      if (!push.success) {
        log(`http: dropped a push that fails the contract: ${push.error.issues[0]?.message ?? ''}`);
        return;
      }
      if (ws.readyState !== WebSocket.OPEN) return;
      if (ws.bufferedAmount > maxBufferedBytes) {
        ws.close(1013, 'client too slow');
        return;
      }
      ws.send(JSON.stringify(push.data));
    };
    let unsubscribe: () => void = () => {};
    let alive = true;
    const timer = setInterval(() => {
      if (!alive) return ws.terminate();
      alive = false;
      ws.ping();
    }, this.opts.pingIntervalMs);
    timer.unref();
    ws.once('close', () => {
      clearInterval(timer);
      unsubscribe();
      unsubscribe = () => {};
    });
    ws.on('pong', () => (alive = true));
    ws.on('message', () => ws.close(1008, 'this endpoint only sends'));
    ws.on('error', () => ws.terminate());
    try {
      unsubscribe = this.opts.subscribe(send, run === undefined ? undefined : { run });
    } catch (err) {
      log(`http: subscribe failed: ${err instanceof Error ? err.message : String(err)}`);
      ws.close(1011, 'internal error');
    }
  }

  /** Closes every client (1001, going away; cut after `graceMs` if the close handshake stalls). */
  async close(graceMs = 1000): Promise<void> {
    const open = [...this.wss.clients];
    await Promise.all(
      open.map(
        (ws) =>
          new Promise<void>((resolve) => {
            const cut = setTimeout(() => ws.terminate(), graceMs);
            ws.once('close', () => {
              clearTimeout(cut);
              resolve();
            });
            ws.close(1001, 'daemon stopping');
          }),
      ),
    );
    this.wss.close();
  }
}
