/**
 * Client side of the daemon's unix-socket API: connect, send typed requests, parse answers with the contract.
 */
import { connect, type Socket } from 'node:net';
import {
  MAX_LINE_BYTES,
  methods,
  pushSchema,
  responseSchema,
  type Method,
  type Params,
  type Push,
} from './contract.js';
import { readLines } from './framing.js';
import { WardenError } from '../util/errors.js';

/** A connection to a running daemon. Requests may overlap; answers are matched by id. */
export class DaemonClient {
  private nextId = 1;
  private pending = new Map<number, { resolve: (v: unknown) => void; reject: (e: Error) => void }>();
  private closed: Error | null = null;
  private pushListeners: ((p: Push) => void)[] = [];
  private closeListeners: (() => void)[] = [];
  private closedOnce = false;

  private constructor(private readonly sock: Socket) {
    readLines(
      sock,
      64 * MAX_LINE_BYTES,
      (line) => this.onLine(line),
      () => this.failAll(new WardenError('daemon-protocol', 'daemon sent an oversize answer')),
    );
    sock.on('close', () => {
      this.failAll(new WardenError('daemon-gone', 'the warden daemon closed the connection'));
      if (this.closedOnce) return;
      this.closedOnce = true;
      for (const cb of this.closeListeners) cb();
    });
    sock.on('error', (err) =>
      this.failAll(new WardenError('daemon-gone', `daemon connection failed: ${err.message}`)),
    );
  }

  /**
   * Connects to the daemon socket at `path`.
   * @throws the socket error (ENOENT / ECONNREFUSED when no daemon runs) — callers decide whether to start one.
   */
  static connect(path: string, timeoutMs = 2000): Promise<DaemonClient> {
    return new Promise((resolve, reject) => {
      const sock = connect(path);
      const timer = setTimeout(() => {
        sock.destroy();
        reject(Object.assign(new Error(`timed out connecting to ${path}`), { code: 'ETIMEDOUT' }));
      }, timeoutMs);
      sock.once('connect', () => {
        clearTimeout(timer);
        resolve(new DaemonClient(sock));
      });
      sock.once('error', (err) => {
        clearTimeout(timer);
        reject(err);
      });
    });
  }

  /**
   * Sends one request and resolves with its `result`.
   * @throws WardenError with the daemon's error code and message when the daemon answers `ok: false`.
   */
  call<M extends Method>(method: M, params: Params<M>): Promise<unknown> {
    if (this.closed) return Promise.reject(this.closed);
    methods[method].params.parse(params); // fail fast on the client, the daemon checks again
    const id = this.nextId++;
    return new Promise((resolve, reject) => {
      this.pending.set(id, { resolve, reject });
      this.sock.write(JSON.stringify({ id, method, params }) + '\n');
    });
  }

  close(): void {
    this.sock.end();
  }

  /**
   * Calls `cb` once when the connection is gone (the daemon died or closed it, or `close()` was called).
   * `warden run` uses it to start a new daemon while its run goes on.
   */
  onClose(cb: () => void): void {
    if (this.closedOnce) cb();
    else this.closeListeners.push(cb);
  }

  /**
   * Subscribes this connection to pushed messages (holds, runs), optionally for one run. `onPush` gets each
   * message after validation with the contract's `pushSchema`.
   */
  async subscribe(onPush: (p: Push) => void, filter: { run?: number } = {}): Promise<void> {
    this.pushListeners.push(onPush);
    await this.call('events.subscribe', filter);
  }

  private onLine(line: string): void {
    let msg;
    try {
      const raw = JSON.parse(line) as unknown;
      if (raw && typeof raw === 'object' && 'push' in raw) {
        const push = pushSchema.parse((raw as { push: unknown }).push);
        for (const l of this.pushListeners) l(push);
        return;
      }
      msg = responseSchema.parse(raw);
    } catch (err) {
      this.failAll(new WardenError('daemon-protocol', `unparseable answer from the daemon: ${String(err)}`));
      return;
    }
    const p = this.pending.get(msg.id);
    if (!p) return;
    this.pending.delete(msg.id);
    if (msg.ok) p.resolve(msg.result);
    else p.reject(new WardenError(msg.error.code, msg.error.message, msg.error.exit ?? 1, msg.error.details));
  }

  private failAll(err: Error): void {
    this.closed ??= err;
    for (const p of this.pending.values()) p.reject(err);
    this.pending.clear();
  }
}
