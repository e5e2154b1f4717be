// Electron transport: the preload (electron/preload.ts) exposes `window.warden` with contextBridge; this is
// its shape. The renderer never imports electron.
import { pushSchema, type Push } from '../../core/api/contract';
import { unwrapAnswer, ApiError, type ConnectionStatus, type Transport } from './types';

/**
 * What `electron/preload.ts` exposes as `window.warden`.
 * - `call` resolves with the method's result, or rejects (an Error whose `code` property, if any, is the
 *   daemon's error code). It may also resolve with a raw answer `{ok, result}` / `{ok:false, error}`; both
 *   are accepted.
 * - `onPush` delivers each push message (validated again here with `pushSchema`); returns unsubscribe.
 * - `onStatus` delivers 'connecting' | 'connected' | 'disconnected' (the current state first, if known);
 *   returns unsubscribe.
 */
export interface WardenBridge {
  call(method: string, params: unknown): Promise<unknown>;
  onPush(cb: (p: unknown) => void): () => void;
  onStatus(cb: (s: string) => void): () => void;
}

declare global {
  interface Window {
    warden?: WardenBridge;
  }
}

function isAnswer(v: unknown): boolean {
  return !!v && typeof v === 'object' && 'ok' in v && typeof (v as { ok: unknown }).ok === 'boolean';
}

export class ElectronTransport implements Transport {
  constructor(private readonly bridge: WardenBridge) {}

  async call(method: string, params: unknown): Promise<unknown> {
    let r: unknown;
    try {
      r = await this.bridge.call(method, params ?? {});
    } catch (e) {
      const err = e as { code?: unknown; message?: unknown };
      throw new ApiError(
        typeof err?.code === 'string' ? err.code : 'error',
        typeof err?.message === 'string' ? err.message : String(e),
      );
    }
    return isAnswer(r) ? unwrapAnswer(r) : r;
  }

  subscribe(onPush: (p: Push) => void): () => void {
    return this.bridge.onPush((raw) => {
      const p = pushSchema.safeParse(raw);
      if (p.success) onPush(p.data);
    });
  }

  onStatus(cb: (s: ConnectionStatus) => void): () => void {
    return this.bridge.onStatus((s) => {
      cb(s === 'connected' || s === 'connecting' ? s : 'disconnected');
    });
  }
}
