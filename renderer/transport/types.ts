import type { Push } from '../../core/api/contract';

export type ConnectionStatus = 'connecting' | 'connected' | 'disconnected';

/** How the UI reaches the daemon: HTTP + WebSocket in a browser, IPC through the preload in Electron. */
export interface Transport {
  /** Calls an API method; resolves with its result, rejects with an ApiError. */
  call(method: string, params: unknown): Promise<unknown>;
  /** Receives every validated push; returns the unsubscribe function. */
  subscribe(onPush: (p: Push) => void): () => void;
  /** Reports the push channel's state (the current one immediately); returns the unsubscribe function. */
  onStatus(cb: (s: ConnectionStatus) => void): () => void;
}

/** An error answer of the daemon (`{ok:false, error:{code,message}}`) or a transport failure (`unreachable`). */
export class ApiError extends Error {
  readonly code: string;
  constructor(code: string, message: string) {
    super(message);
    this.name = 'ApiError';
    this.code = code;
  }
}

/** Turns a daemon answer `{ok, result}` / `{ok:false, error}` into the result or a thrown ApiError. */
export function unwrapAnswer(body: unknown, httpStatus?: number): unknown {
  if (body && typeof body === 'object' && 'ok' in body) {
    const b = body as { ok: boolean; result?: unknown; error?: { code?: unknown; message?: unknown } };
    if (b.ok === true) return b.result;
    const code = typeof b.error?.code === 'string' ? b.error.code : 'error';
    const message = typeof b.error?.message === 'string' ? b.error.message : 'the daemon refused the request';
    throw new ApiError(code, message);
  }
  throw new ApiError(
    'bad-answer',
    `unexpected answer from the daemon${httpStatus ? ` (HTTP ${httpStatus})` : ''}`,
  );
}
