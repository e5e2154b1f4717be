/**
 * Preload of every Warden window (sandboxed, so CommonJS and only `electron` may be required). Exposes
 * `window.warden` with exactly the `WardenBridge` shape the renderer expects — three functions, never
 * `ipcRenderer` itself, and callbacks receive only the message, never the IPC event (whose `sender` would
 * hand the page `ipcRenderer`). The main process validates everything again (`electron/ipc.ts`).
 */
import { contextBridge, ipcRenderer, type IpcRendererEvent } from 'electron';

type Status = 'connecting' | 'connected' | 'disconnected';

interface WardenBridge {
  call(method: string, params: unknown): Promise<unknown>;
  onPush(cb: (p: unknown) => void): () => void;
  onStatus(cb: (s: Status) => void): () => void;
}

// Channel names duplicated from electron/ipc.ts: a sandboxed preload cannot require our other modules.
const CALL = 'warden:call';
const STATUS = 'warden:status';
const PUSH = 'warden:push';
const STATUS_CHANGED = 'warden:status-changed';

type Answer =
  { ok: true; result: unknown } | { ok: false; error: { code: string; message: string; details?: unknown } };

/**
 * `call` resolves with the answer envelope itself, `{ok: true, result}` or `{ok: false, error: {code,
 * message}}`, and the renderer's Electron transport unwraps it. Throwing instead would lose `error.code`:
 * contextBridge copies a thrown Error's message only, not its custom properties (Electron docs,
 * contextBridge "Parameter / Error / Return Type support").
 */
function envelope(a: unknown): Answer {
  if (a && typeof a === 'object' && typeof (a as { ok?: unknown }).ok === 'boolean') return a as Answer;
  return {
    ok: false,
    error: { code: 'ipc-error', message: 'malformed answer from the Warden main process' },
  };
}

function listen<T>(channel: string, cb: (v: T) => void): () => void {
  const h = (_e: IpcRendererEvent, v: T) => cb(v);
  ipcRenderer.on(channel, h);
  return () => {
    ipcRenderer.removeListener(channel, h);
  };
}

const bridge: WardenBridge = {
  call: async (method, params) => envelope(await ipcRenderer.invoke(CALL, { method, params })),
  onPush: (cb) => listen(PUSH, cb),
  onStatus: (cb) => {
    const off = listen<Status>(STATUS_CHANGED, cb);
    // Tell a late subscriber the current status instead of leaving it at 'connecting' until the next change.
    void ipcRenderer
      .invoke(STATUS)
      .then((a: unknown) => {
        const e = envelope(a);
        if (e.ok && (e.result === 'connecting' || e.result === 'connected' || e.result === 'disconnected'))
          cb(e.result);
      })
      .catch(() => {});
    return off;
  },
};

contextBridge.exposeInMainWorld('warden', bridge);
