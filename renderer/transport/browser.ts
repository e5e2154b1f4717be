// Browser transport: `POST /api/<method>` with the bearer token from the URL fragment (`#token=…`), pushes
// over the WebSocket `/api/events` (sub-protocol `warden.<token>`), reconnecting with backoff.
import { pushSchema, type Push } from '../../core/api/contract';
import { ApiError, unwrapAnswer, type ConnectionStatus, type Transport } from './types';

/** Reads `token` from a fragment like `#token=abc` or `#/inbox&token=abc`. */
export function tokenFromHash(hash: string): string {
  const h = hash.replace(/^#/, '');
  for (const part of h.split(/[&?]/)) {
    const [k, v] = part.split('=');
    if (k === 'token' && v) return decodeURIComponent(v);
  }
  return '';
}

/** Reads a one-time `code` (from `warden ui`'s opener) from the fragment, or ''. */
export function codeFromHash(hash: string): string {
  const h = hash.replace(/^#/, '');
  for (const part of h.split(/[&?]/)) {
    const [k, v] = part.split('=');
    if (k === 'code' && v) return decodeURIComponent(v);
  }
  return '';
}

/**
 * Trades a one-time code for the API token (`POST /api/ui.exchange`, same origin) and returns the fragment to
 * keep in the address bar: `code=…` replaced by `token=…`, so a reload still works.
 * @throws ApiError with the daemon's error (e.g. `bad-code`: unknown, expired or already used).
 */
export async function exchangeCode(
  hash: string,
  opts: { origin?: string; fetch?: typeof fetch } = {},
): Promise<string> {
  const code = codeFromHash(hash);
  const f = opts.fetch ?? fetch.bind(globalThis);
  const answer = await postApi(f, `${opts.origin ?? location.origin}/api/ui.exchange`, {}, { code });
  const { token } = answer as { token: string };
  if (typeof token !== 'string' || !token) throw new ApiError('bad-answer', 'ui.exchange answered no token');
  const rest = hash
    .replace(/^#/, '')
    .split('&')
    .filter((p) => p && !p.startsWith('code='));
  return '#' + [`token=${encodeURIComponent(token)}`, ...rest].join('&');
}

/**
 * POSTs `body` as JSON to a daemon API `url` and returns the answer's result.
 * @throws ApiError('unreachable') when the request fails, ('bad-answer') without a JSON body, or the
 *   daemon's own error (unwrapAnswer).
 */
async function postApi(
  f: typeof fetch,
  url: string,
  headers: Record<string, string>,
  body: unknown,
): Promise<unknown> {
  let res: Response;
  try {
    res = await f(url, {
      method: 'POST',
      headers: { ...headers, 'content-type': 'application/json' },
      body: JSON.stringify(body),
    });
  } catch (e) {
    throw new ApiError('unreachable', `Warden daemon unreachable (${(e as Error).message})`);
  }
  let json: unknown;
  try {
    json = await res.json();
  } catch {
    throw new ApiError('bad-answer', `the daemon answered HTTP ${res.status} without JSON`);
  }
  return unwrapAnswer(json, res.status);
}

export interface BrowserTransportOptions {
  token: string;
  /** Origin of the daemon, e.g. `http://127.0.0.1:4242` (default: the page's own). */
  origin?: string;
  fetch?: typeof fetch;
  WebSocket?: typeof WebSocket;
  /** First reconnect delay in ms (doubles up to maxDelayMs). */
  minDelayMs?: number;
  maxDelayMs?: number;
}

export class BrowserTransport implements Transport {
  private readonly o: Required<Omit<BrowserTransportOptions, 'origin'>> & { origin: string };
  private status: ConnectionStatus = 'connecting';
  private readonly pushCbs = new Set<(p: Push) => void>();
  private readonly statusCbs = new Set<(s: ConnectionStatus) => void>();
  private ws: WebSocket | null = null;
  private retryTimer: ReturnType<typeof setTimeout> | null = null;
  private delay: number;
  private closed = false;

  constructor(opts: BrowserTransportOptions) {
    this.o = {
      token: opts.token,
      origin: opts.origin ?? location.origin,
      fetch: opts.fetch ?? fetch.bind(globalThis),
      WebSocket: opts.WebSocket ?? WebSocket,
      minDelayMs: opts.minDelayMs ?? 500,
      maxDelayMs: opts.maxDelayMs ?? 4_000, // a restarted daemon is found within ~4 s
    };
    this.delay = this.o.minDelayMs;
  }

  async call(method: string, params: unknown): Promise<unknown> {
    return postApi(
      this.o.fetch,
      `${this.o.origin}/api/${encodeURIComponent(method)}`,
      { authorization: `Bearer ${this.o.token}` },
      params ?? {},
    );
  }

  subscribe(onPush: (p: Push) => void): () => void {
    this.pushCbs.add(onPush);
    this.ensureSocket();
    return () => {
      this.pushCbs.delete(onPush);
    };
  }

  onStatus(cb: (s: ConnectionStatus) => void): () => void {
    this.statusCbs.add(cb);
    cb(this.status);
    this.ensureSocket();
    return () => {
      this.statusCbs.delete(cb);
    };
  }

  /** Closes the socket and stops reconnecting. */
  close(): void {
    this.closed = true;
    if (this.retryTimer) clearTimeout(this.retryTimer);
    this.ws?.close();
    this.ws = null;
  }

  private setStatus(s: ConnectionStatus): void {
    if (s === this.status) return;
    this.status = s;
    for (const cb of this.statusCbs) cb(s);
  }

  private ensureSocket(): void {
    if (this.ws || this.retryTimer || this.closed) return;
    const url = `${this.o.origin.replace(/^http/, 'ws')}/api/events`;
    let ws: WebSocket;
    try {
      ws = new this.o.WebSocket(url, [`warden.${this.o.token}`]);
    } catch {
      this.setStatus('disconnected');
      this.scheduleRetry();
      return;
    }
    this.ws = ws;
    ws.onopen = () => {
      this.delay = this.o.minDelayMs;
      this.setStatus('connected');
    };
    ws.onmessage = (ev: MessageEvent) => {
      let data: unknown;
      try {
        data = JSON.parse(typeof ev.data === 'string' ? ev.data : '');
      } catch {
        return;
      }
      const p = pushSchema.safeParse(data);
      if (!p.success) return;
      for (const cb of this.pushCbs) cb(p.data);
    };
    ws.onclose = () => {
      if (this.ws !== ws) return;
      this.ws = null;
      this.setStatus('disconnected');
      this.scheduleRetry();
    };
    ws.onerror = () => {
      /* onclose follows */
    };
  }

  private scheduleRetry(): void {
    if (this.closed || this.retryTimer) return;
    const wait = this.delay;
    this.delay = Math.min(this.delay * 2, this.o.maxDelayMs);
    this.retryTimer = setTimeout(() => {
      this.retryTimer = null;
      // Stays 'disconnected' while retrying (the banner must not flicker); 'connecting' is the first attempt only.
      this.ensureSocket();
    }, wait);
  }
}
